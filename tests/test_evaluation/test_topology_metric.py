"""TopologyMetric: golden Betti numbers, Dice/HD95/clDice by hand, per-group ID/OOD reduction."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from visionx.evaluation.metrics.topology import (TopologyMetric, betti_numbers, cldice, dice, hd95,
                                                 local_betti_errors, summarise)


def ring(size=64):
    m = np.zeros((size, size), np.uint8)
    cv2.circle(m, (size // 2, size // 2), size // 4, 1, 3)
    return m > 0


def brick_grid(rows: int, cols: int, brick=8, joint=2):
    h, w = rows * (brick + joint) + joint, cols * (brick + joint) + joint
    m = np.ones((h, w), bool)
    for r in range(rows):
        for c in range(cols):
            y, x = joint + r * (brick + joint), joint + c * (brick + joint)
            m[y:y + brick, x:x + brick] = False
    return m


@pytest.mark.parametrize('mask,expected', [
    (ring(), (1, 1)),
    (np.zeros((10, 10), bool), (0, 0)),
    (np.ones((10, 10), bool), (1, 0)),
    (brick_grid(3, 4), (1, 12)),
    (brick_grid(5, 2), (1, 10)),
])
def test_betti_golden(mask, expected):
    assert betti_numbers(mask) == expected


def test_two_discs_and_diagonal_connectivity():
    m = np.zeros((40, 40), np.uint8)
    cv2.circle(m, (10, 10), 5, 1, -1)
    cv2.circle(m, (30, 30), 5, 1, -1)
    assert betti_numbers(m) == (2, 0)
    d = np.eye(5, dtype=bool)  # a diagonal line is one 8-connected component
    assert betti_numbers(d) == (1, 0)
    # four pixels around a diagonal gap: the background hole is 4-connected -> closed by the corners
    x = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], bool)
    assert betti_numbers(x) == (1, 1)


def test_betti_matches_gudhi():
    gudhi = pytest.importorskip('gudhi')
    rng = np.random.default_rng(0)
    for _ in range(10):
        m = rng.random((20, 20)) > 0.55
        cc = gudhi.CubicalComplex(top_dimensional_cells=1.0 - m.astype(float))
        cc.compute_persistence()
        b = cc.persistent_betti_numbers(np.inf, -np.inf)  # all intervals, as TopoMortar counts them
        assert betti_numbers(m) == (b[0], b[1])
        assert betti_numbers(m, official_empty=True) == (b[0], b[1])
    # the empty mask: gudhi keeps one essential interval (the whole image), the empty set has b0 = 0
    empty = np.zeros((8, 8), bool)
    cc = gudhi.CubicalComplex(top_dimensional_cells=1.0 - empty.astype(float))
    cc.compute_persistence()
    b = cc.persistent_betti_numbers(np.inf, -np.inf)
    assert betti_numbers(empty, official_empty=True) == (b[0], b[1]) == (1, 0)
    assert betti_numbers(empty) == (0, 0)


def test_dice_hd95_cldice_by_hand():
    a = np.zeros((10, 10), bool)
    a[2:5, 2:5] = True
    b = np.zeros((10, 10), bool)
    b[2:5, 3:6] = True
    assert dice(a, b) == pytest.approx(2 * 6 / 18)
    # borders: each 3x3 square is all border except its centre; shift by 1 -> distances 0 or 1
    d = np.concatenate([[0] * 5 + [1] * 3, [0] * 5 + [1] * 3])
    assert hd95(a, b) == pytest.approx(np.percentile(d, 95))
    assert hd95(a, a) == 0
    assert hd95(np.zeros_like(a), b) == pytest.approx(np.hypot(9, 9))
    # the paper's tables: 722.66 = 511 * sqrt(2) for an empty 512 x 512 prediction
    assert hd95(np.zeros((512, 512), bool), np.ones((512, 512), bool)) == pytest.approx(722.66, abs=0.01)
    assert dice(np.zeros_like(a), np.zeros_like(a)) == 0.0
    line = np.zeros((10, 10), bool)
    line[5, 1:9] = True
    assert cldice(line, line) == pytest.approx(1.0)
    assert cldice(np.zeros_like(line), line) == 0.0
    # half the line predicted: skel(pred) (4 px) lies in the label, Tprec = 1; skel(label) (8 px) is half
    # covered by the prediction, Tsens = 1/2; clDice = 2 * 1 * 1/2 / (1 + 1/2) = 2/3
    half = np.zeros_like(line)
    half[5, 1:5] = True
    assert cldice(half, line) == pytest.approx(2 / 3)


def test_local_betti_errors():
    gt = np.zeros((256, 256), bool)
    pred = gt.copy()
    pred[10:20, 10:20] = True  # one extra component in the first of 4 windows
    assert local_betti_errors(pred, gt, 128) == (0.25, 0.0)


def test_summarise_id_ood():
    rows = [dict(group='indistr', Dice=1.0), dict(group='indistr', Dice=0.5),
            dict(group='angles', Dice=0.2), dict(group='colors', Dice=0.6), dict(group='colors', Dice=0.8)]
    out = summarise(rows)
    assert out['ID/Dice'] == 0.75
    assert out['OOD/Dice'] == pytest.approx((0.2 + 0.7) / 2)   # mean of group means
    assert out['colors/Dice'] == pytest.approx(0.7)
    assert out['Dice'] == pytest.approx(3.1 / 5)


def test_metric_process_and_compute():
    metric = TopologyMetric()
    gt = brick_grid(3, 3)
    pred = gt.copy()
    pred[0:2, :] = False  # opens the top bricks -> fewer holes
    samples = [
        dict(pred_sem_seg=dict(data=torch.from_numpy(gt)[None].long()), gt_sem_seg=dict(data=torch.from_numpy(gt)[None].long()), group='indistr'),
        dict(pred_sem_seg=dict(data=torch.from_numpy(pred)[None].long()), gt_sem_seg=dict(data=torch.from_numpy(gt)[None].long()), group='occlusion'),
    ]
    metric.process({}, samples)
    out = metric.compute_metrics(metric.results)
    assert out['ID/Betti1Error'] == 0 and out['ID/Dice'] == 1.0
    assert out['OOD/Betti1Error'] == 3.0
    assert out['occlusion/Dice'] < 1.0
    with pytest.raises(ValueError):
        TopologyMetric(window=0)
