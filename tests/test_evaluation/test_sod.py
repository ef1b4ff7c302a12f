"""SOD metrics: golden values computed by hand, special cases, and the grouped BaseMetric."""
import numpy as np
import pytest
import torch

from visionx.evaluation.metrics.sod import (SODMetric, adaptive_e_measure, adaptive_fmeasure, e_measure_curve,
                                            mae, normalize_prediction, pr_counts, precision_recall,
                                            relaxed_boundary_fmeasure, s_measure, weighted_fmeasure)

GT = np.array([[0, 1], [0, 1]], np.float64)
PRED = np.array([[0, 1], [1, 1]], np.float64)


def test_mae_and_normalisation_golden():
    assert mae(PRED, GT) == pytest.approx(0.25)
    assert mae(PRED, GT * 0.5) == pytest.approx(0.25)  # GT divided by its max, as the official tool
    np.testing.assert_allclose(normalize_prediction(np.array([[2., 4.], [6., 6.]])), [[0, 0.50196], [1, 1]],
                               atol=1e-4)  # min-max then 8-bit levels (128 / 255)
    assert normalize_prediction(np.full((2, 2), 0.7)).max() == 0


def test_pr_curve_and_fmeasure_golden():
    tp, fp = pr_counts(PRED, GT)
    assert tp.shape == (256,) and tp[0] == 2 and fp[0] == 2 and tp[255] == 2 and fp[255] == 1
    p, r = precision_recall(tp, fp, 2)
    assert p[0] == 0.5 and p[1] == pytest.approx(2 / 3) and r.min() == 1
    m = SODMetric(metrics=('maxF', 'meanF', 'adpF'))
    res = m.summarize([m.evaluate_image(PRED, GT)])
    f_hi = 1.3 * (2 / 3) / (0.3 * 2 / 3 + 1)  # thresholds 1..255
    f_lo = 1.3 * 0.5 / (0.3 * 0.5 + 1)  # threshold 0: everything positive
    assert res['maxF'] == pytest.approx(f_hi)
    assert res['meanF'] == pytest.approx((f_lo + 255 * f_hi) / 256)
    # adaptive threshold = min(2 * 0.75, 1) = 1 -> the three ones are positive
    assert adaptive_fmeasure(PRED, GT) == pytest.approx(f_hi)


def test_dataset_level_pr_average_before_f():
    """maxF averages P and R over images per threshold, then takes F (not the mean of per-image F)."""
    m = SODMetric(metrics=('maxF',))
    gt2 = np.array([[1, 1], [1, 1]], np.float64) * 0
    gt2[0, 0] = 1
    pred2 = np.array([[1, 0], [0, 0]], np.float64)
    stats = [m.evaluate_image(PRED, GT), m.evaluate_image(pred2, gt2)]
    p = (np.array([2 / 3, 1.0]).mean())
    expected = 1.3 * p * 1 / (0.3 * p + 1)
    assert m.summarize(stats)['maxF'] == pytest.approx(expected)


def test_s_measure_cases():
    gt = np.zeros((8, 8))
    gt[2:6, 2:6] = 1
    assert s_measure(gt, gt) == pytest.approx(1.0, abs=1e-6)
    pred = np.full((8, 8), 0.3)
    assert s_measure(pred, np.zeros((8, 8))) == pytest.approx(0.7)  # empty GT: 1 - mean
    assert s_measure(pred, np.ones((8, 8))) == pytest.approx(0.3)  # full GT: mean
    assert s_measure(1 - gt, gt) < 0.2


def test_s_measure_golden_by_hand():
    """4x4, GT = left half, prediction = 0.5 on the GT (worked out by hand)."""
    gt = np.zeros((4, 4))
    gt[:, :2] = 1
    pred = gt * 0.5
    # object: O_FG = 2*.5 / (.25 + 1 + 0) = .8, O_BG = 2*1 / (1 + 1) = 1, mu = .5 -> S_o = .9
    # region: centroid (row 1.5, col .5) -> round half to even (2, 0) + 1 -> split at row 3, col 1;
    # constant blocks LT (3 px) and LB (1 px) score 1; RT (9 px) and RB (3 px) both score .64
    s_r = 3 / 16 + 1 / 16 + (9 / 16 + 3 / 16) * 0.64
    assert s_measure(pred, gt) == pytest.approx(0.5 * 0.9 + 0.5 * s_r)


def test_e_measure_cases():
    gt = np.zeros((8, 8))
    gt[2:6, 2:6] = 1
    assert e_measure_curve(gt, gt)[1:].min() == pytest.approx(1.0, abs=1e-9)
    assert e_measure_curve(1 - gt, gt)[1:].max() == pytest.approx(0.0, abs=1e-9)
    # empty GT: E = fraction of pixels predicted background
    pred = np.zeros((8, 8))
    pred[0, :4] = 1
    assert e_measure_curve(pred, np.zeros((8, 8)))[128] == pytest.approx(60 / 64)
    assert adaptive_e_measure(gt, gt) == pytest.approx(1.0)
    # brute force against the pixel-wise definition for a random case
    rng = np.random.default_rng(0)
    g = (rng.random((10, 12)) > 0.6).astype(float)
    p = rng.random((10, 12))
    p = np.round(p * 255) / 255
    t = 100
    fm = (p * 255 >= t).astype(float)
    phi_f, phi_g = fm - fm.mean(), g - g.mean()
    xi = 2 * phi_f * phi_g / (phi_f**2 + phi_g**2 + np.finfo(float).eps)
    assert e_measure_curve(p, g)[t] == pytest.approx(((1 + xi)**2 / 4).mean())


def test_weighted_f_and_relaxed_boundary():
    gt = np.zeros((32, 32))
    gt[8:24, 8:24] = 1
    assert weighted_fmeasure(gt, gt) == pytest.approx(1.0, abs=1e-6)
    assert weighted_fmeasure(np.zeros_like(gt), gt) == pytest.approx(0.0, abs=1e-6)
    noisy = np.clip(gt + 0.3 * np.random.default_rng(0).random(gt.shape), 0, 1)
    assert 0.3 < weighted_fmeasure(noisy, gt) < 1.0
    assert relaxed_boundary_fmeasure(gt, gt) == pytest.approx(1.0)
    shifted2 = np.roll(gt, 2, axis=1)
    assert relaxed_boundary_fmeasure(shifted2, gt) == pytest.approx(1.0)  # within rho = 3
    shifted6 = np.roll(gt, 6, axis=1)
    # the two vertical edges (16 px each) are 6 px away; the horizontal edges overlap partly
    assert relaxed_boundary_fmeasure(shifted6, gt) < 0.8
    assert relaxed_boundary_fmeasure(np.zeros_like(gt), np.zeros_like(gt)) == 1.0
    assert relaxed_boundary_fmeasure(np.zeros_like(gt), gt) == 0.0


def test_adaptive_e_measure_by_hand():
    """2x2 case: threshold 2 * mean(pred) = 0.8 binarises pred to F = [[0, 1], [0, 0]]; GT = [[0, 1], [0, 1]].

    phi_F = F - 1/4, phi_G = G - 1/2; xi = 2 phi_F phi_G / (phi_F^2 + phi_G^2); E = mean((1 + xi)^2 / 4):
    (0, 0) and (1, 0): xi = 0.25 / 0.3125 = 0.8 -> 0.81; (0, 1): xi = 0.75 / 0.8125 = 12/13 -> 625/676;
    (1, 1): xi = -0.8 -> 0.01.
    """
    pred = np.array([[0.1, 0.9], [0.4, 0.2]])
    assert adaptive_e_measure(pred, GT) == pytest.approx((0.81 + 625 / 676 + 0.81 + 0.01) / 4, rel=1e-9)
    # threshold capped at 1: mean 0.6 -> min(1.2, 1) = 1, nothing reaches it, F = 0, phi_F = 0, xi = 0
    assert adaptive_e_measure(np.array([[0.1, 0.9], [0.6, 0.8]]), GT) == pytest.approx(0.25, rel=1e-9)


def test_weighted_f_by_hand():
    """Margolin et al.'s weighted F (beta^2 = 1) on cases where every term is computable by hand.

    Foreground errors 0: min(E, EA) = 0 there, so R = 1; background errors keep E and get the importance
    weight B = 2 - 0.5^(d / 5) (d = distance to the foreground); TPw = |fg|, FPw = sum_bg E * B.
    """
    gt = np.array([[1, 1, 0, 0, 0]], float)
    pred = np.array([[1, 1, 0.5, 0, 0.25]])
    fpw = 0.5 * (2 - 0.5 ** (1 / 5)) + 0.25 * (2 - 0.5 ** (3 / 5))  # distances 1 and 3
    p = 2 / (2 + fpw)
    assert weighted_fmeasure(pred, gt) == pytest.approx(2 * p / (1 + p), rel=1e-9)
    # Uniform foreground error e, no background error: E^t = e everywhere, so the normalised Gaussian
    # gives EA = e inside the image (the 7x7 windows of the foreground pixels stay inside), R = 1 - e, P = 1.
    gt = np.zeros((12, 12))
    gt[4:8, 4:8] = 1
    e = 0.4
    pred = gt * (1 - e)
    assert weighted_fmeasure(pred, gt) == pytest.approx(2 * (1 - e) / (2 - e), rel=1e-9)


def _sample(pred, gt, name):
    return dict(seg_logits=dict(data=torch.as_tensor(pred, dtype=torch.float32)[None]),
                gt_sem_seg=dict(data=torch.as_tensor(gt, dtype=torch.float32)[None]), dataset_name=name,
                img_path=f'{name}.jpg')


def test_metric_groups_and_resizes_back():
    gt = np.zeros((20, 30))
    gt[5:15, 10:20] = 1
    small = torch.nn.functional.interpolate(torch.tensor(gt)[None, None], size=(10, 15), mode='bilinear')[0, 0]
    metric = SODMetric()
    metric.process({}, [_sample(gt, gt, 'A'), _sample(small.numpy(), gt, 'B'), _sample(1 - gt, gt, 'B')])
    res = metric.compute_metrics(metric.results)
    assert res['A/MAE'] == pytest.approx(0.0) and res['A/maxF'] == pytest.approx(1.0)
    assert res['A/Sm'] == pytest.approx(1.0, abs=1e-6)
    assert 0.2 < res['B/MAE'] < 0.6
    single = SODMetric(metrics=('MAE',))
    single.process({}, [_sample(gt, gt, 'A')])
    assert single.compute_metrics(single.results) == {'MAE': pytest.approx(0.0)}
    with pytest.raises(ValueError):
        SODMetric(metrics=('IoU',))
    bad = SODMetric()
    with pytest.raises(ValueError, match='GT in'):
        bad.process({}, [_sample(gt, gt * 255, 'A')])
