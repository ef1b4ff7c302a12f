"""Dice / Jaccard / HD95 / ASD (medpy definitions) with hand-computed golden values."""
import numpy as np
import pytest
import torch

from visionx.evaluation.metrics.medical import (MedicalSegMetric, asd, case_metrics, dice_coefficient, hd95,
                                                jaccard_index, surface_distances)


def _cube(shape, lo, hi):
    m = np.zeros(shape, np.uint8)
    m[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = 1
    return m


def test_overlap_metrics_golden():
    gt = _cube((10, 10, 10), (2, 2, 2), (6, 6, 6))      # 64 voxels
    pred = _cube((10, 10, 10), (2, 2, 2), (6, 6, 4))    # 32 voxels, all inside gt
    assert dice_coefficient(pred, gt) == pytest.approx(2 * 32 / 96)
    assert jaccard_index(pred, gt) == pytest.approx(32 / 64)


def test_surface_distances_shifted_cube_golden():
    gt = _cube((12, 12, 12), (2, 2, 2), (7, 7, 7))
    pred = _cube((12, 12, 12), (3, 2, 2), (8, 7, 7))    # shifted by one voxel along x
    # Every surface voxel of pred is at distance 0 or 1 of gt's surface: at 1 are pred's x = 7 face (25
    # voxels, outside gt) and the 3 x 3 centre of its x = 3 face (inside gt, one voxel from gt's x = 2 face).
    d = surface_distances(pred, gt)
    assert set(np.unique(d)) <= {0.0, 1.0}
    assert d.size == 5 * 5 * 5 - 3 * 3 * 3
    assert (d == 1).sum() == 25 + 9
    assert asd(pred, gt) == pytest.approx(34 / 98)
    assert hd95(pred, gt) == pytest.approx(1.0)
    # Anisotropic spacing scales the distance along x.
    assert hd95(pred, gt, spacing=(2.0, 1.0, 1.0)) == pytest.approx(2.0)
    assert hd95(gt, gt) == 0.0


def test_empty_prediction_scores_zero_and_errors():
    gt = _cube((8, 8, 8), (2, 2, 2), (5, 5, 5))
    assert case_metrics(np.zeros_like(gt), gt) == dict(dice=0.0, jaccard=0.0, hd95=0.0, asd=0.0)
    with pytest.raises(ValueError):
        surface_distances(np.zeros_like(gt), gt)
    with pytest.raises(ValueError):
        case_metrics(gt, gt[:4])


def test_metric_class_both_networks_and_mm():
    gt = _cube((12, 12, 12), (2, 2, 2), (7, 7, 7))
    shifted = _cube((12, 12, 12), (3, 2, 2), (8, 7, 7))
    metric = MedicalSegMetric()
    metric.process(None, [dict(gt_label=torch.from_numpy(gt), pred_label_net1=gt, pred_label_net2=shifted,
                               spacing=(2.0, 1.0, 1.0), case='a'),
                          dict(gt_label=torch.from_numpy(gt), pred_label_net1=np.zeros_like(gt),
                               pred_label_net2=shifted, spacing=None, case='b')])
    res = metric.compute_metrics(metric.results)
    assert res['net1/dice'] == pytest.approx(50.0)          # (100 + 0) / 2, in percent
    assert res['net1/hd95'] == pytest.approx(0.0)
    assert res['net2/dice'] == pytest.approx(100 * 2 * 100 / 250)
    assert res['net2/hd95_mm'] == pytest.approx(2.0)        # only the case with a spacing
    assert res['net2/hd95'] == pytest.approx(1.0)
