"""BoundaryIoUMetric on hand-made label maps (bands and IoUs counted by hand)."""
from __future__ import annotations

import pytest
import torch

from visionx.evaluation.metrics.segmentation import BoundaryIoUMetric, boundary_bands


def _square(rows, cols, size=6):
    lab = torch.zeros(size, size, dtype=torch.long)
    lab[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1] = 1
    return lab


def _sample(pred, gt):
    return dict(pred_sem_seg=dict(data=pred.unsqueeze(0)), gt_sem_seg=dict(data=gt.unsqueeze(0)))


def test_bands_of_a_square_and_of_the_background():
    bands = boundary_bands(_square((1, 4), (1, 4)), 2, 1)
    fg = torch.zeros(6, 6, dtype=torch.bool)
    fg[1:5, 1:5] = True
    fg[2:4, 2:4] = False  # the interior survives a 1-pixel erosion
    assert torch.equal(bands[1], fg)
    assert torch.equal(bands[0], _square((1, 4), (1, 4)) == 0)  # every background pixel touches the image border
    wide = boundary_bands(_square((0, 5), (0, 5)), 2, 2)
    assert int(wide[1].sum()) == 36 - 4  # a 6x6 mask keeps a 2x2 core at width 2


def test_shifted_square_gives_the_hand_counted_boundary_iou():
    metric = BoundaryIoUMetric(num_classes=2, boundary_width=1)
    gt, pred = _square((1, 4), (1, 4)), _square((1, 4), (2, 5))
    metric.process(None, [_sample(pred, gt)])
    # foreground bands: 12 pixels each, 6 shared -> 6/18; background bands: 20 each, 16 shared -> 16/24
    assert metric.compute_metrics(metric.results)['mBIoU'] == pytest.approx(100 * (6 / 18 + 16 / 24) / 2, abs=0.01)


def test_ignored_pixels_and_sums_over_images():
    metric = BoundaryIoUMetric(num_classes=2, boundary_width=1)
    gt, pred = _square((1, 4), (1, 4)), _square((1, 4), (2, 5))
    metric.process(None, [_sample(pred, gt), _sample(pred, torch.full((6, 6), 255))])
    assert metric.compute_metrics(metric.results)['mBIoU'] == pytest.approx(50.0, abs=0.01)
    perfect = BoundaryIoUMetric(num_classes=3, boundary_width=2)
    perfect.process(None, [_sample(gt, gt)])
    assert perfect.compute_metrics(perfect.results)['mBIoU'] == 100.0  # class 2 (absent) is not averaged
    with pytest.raises(ValueError, match='>= 1'):
        BoundaryIoUMetric(boundary_width=0)
