"""FewShotMetric on hand-computed episodes: class-accumulated IoU per run, mean over runs, FB-IoU."""
import json

import numpy as np
import pytest

from visionx.evaluation.metrics.fewshot import FewShotMetric, binary_intersection_union


def ep(run, cls, gt, pred):
    return dict(run=run, class_id=cls, gt_mask=np.array([gt]), pred_mask=np.array([pred]))


def test_binary_intersection_union_ignores_255():
    # valid pixels 0..2: fg I = {0}, U = {0, 1, 2}; bg I = {}, U = {1, 2}
    assert binary_intersection_union(np.array([1, 0, 1, 1]), np.array([1, 1, 0, 255])).tolist() == [1, 3, 0, 2]


def test_metric_by_hand(tmp_path):
    metric = FewShotMetric(out_dir=str(tmp_path))
    metric.dataset_meta = dict(classes=('background', 'aeroplane', 'bicycle'))
    metric.process(None, [ep(0, 1, [1, 1, 0, 255], [1, 0, 1, 1]),   # fg 1/3, bg 0/2
                          ep(0, 1, [1, 0, 0, 0], [1, 0, 0, 0]),     # fg 1/1, bg 3/3
                          ep(0, 2, [0, 0, 1, 1], [0, 0, 0, 0]),     # fg 0/2, bg 2/4
                          ep(1, 2, [1, 1, 0, 0], [1, 1, 0, 0])])    # fg 2/2, bg 2/2
    m = metric.compute_metrics(metric.results)
    # run 0: aeroplane (1+1)/(3+1) = 0.5 (accumulated, not the mean of 1/3 and 1), bicycle 0 -> 0.25
    # run 1: bicycle 1 -> 1.0; mIoU = (0.25 + 1) / 2
    assert m['mIoU_run0'] == 25.0 and m['mIoU_run1'] == 100.0
    assert m['mIoU'] == 62.5
    # FB-IoU run 0: fg 2/6, bg 5/9 -> 4/9; run 1: 1 -> (4/9 + 1) / 2
    assert m['FB-IoU'] == pytest.approx(round(100 * (4 / 9 + 1) / 2, 2))
    assert m['IoU.aeroplane'] == 50.0 and m['IoU.bicycle'] == 50.0
    table = json.loads((tmp_path / 'fewshot_table.json').read_text())
    assert table['per_class_IoU'] == {'aeroplane': 50.0, 'bicycle': 50.0} and table['episodes'] == 4


def test_metric_errors():
    with pytest.raises(ValueError, match='no episode'):
        FewShotMetric().compute_metrics([])
    with pytest.raises(ValueError, match='shape'):
        binary_intersection_union(np.zeros((2, 2)), np.zeros((2, 3)))
