"""CISSMetric: old / new / all mIoU and hIoU against a hand-computed confusion matrix."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from visionx.evaluation.metrics.ciss import CISSMetric, confusion_matrix


def _sample(pred, label):
    return dict(pred_sem_seg=dict(data=torch.tensor(pred)[None]), gt_sem_seg=dict(data=torch.tensor(label)[None]))


def test_old_new_split_by_hand():
    # 4 seen classes: old = {0, 1} (step 0 with background), new = {2, 3}; class 4 unseen -> 255 in labels
    label = [[0, 0, 1, 1, 2, 2, 3, 255]]
    pred = [[0, 1, 1, 1, 2, 0, 2, 3]]
    # confusion M[label, pred] (rows label):
    # 0: pred 0,1      -> M00=1, M01=1
    # 1: pred 1,1      -> M11=2
    # 2: pred 2,0      -> M22=1, M20=1
    # 3: pred 2        -> M32=1 ; the 255 pixel is not counted
    conf = confusion_matrix(np.array(pred), np.array(label), 4)
    expected = np.zeros((4, 4), int)
    expected[0, 0] = expected[0, 1] = expected[2, 2] = expected[2, 0] = expected[3, 2] = 1
    expected[1, 1] = 2
    np.testing.assert_array_equal(conf, expected)
    # IoU_0 = 1 / (2 + 2 - 1) = 1/3 ; IoU_1 = 2 / (2 + 3 - 2) = 2/3 ; IoU_2 = 1 / (2 + 2 - 1) = 1/3 ; IoU_3 = 0/(1+0) = 0
    iou = [1 / 3, 2 / 3, 1 / 3, 0.0]
    old, new = (iou[0] + iou[1]) / 2 * 100, (iou[2] + iou[3]) / 2 * 100
    metric = CISSMetric(num_seen=4, num_old=2)
    metric.dataset_meta = dict(classes=('background', 'a', 'b', 'c'))
    # split the image into two samples: the matrix is accumulated over the set
    metric.process({}, [_sample([pred[0][:4]], [label[0][:4]]), _sample([pred[0][4:]], [label[0][4:]])])
    res = metric.compute_metrics(metric.results)
    assert res['mIoU_old'] == pytest.approx(old)
    assert res['mIoU_new'] == pytest.approx(new)
    assert res['mIoU_all'] == pytest.approx(sum(iou) / 4 * 100)
    assert res['hIoU'] == pytest.approx(2 * old * new / (old + new))
    assert res['IoU.a'] == pytest.approx(200 / 3)


def test_reads_metainfo_and_step0_has_no_new():
    metric = CISSMetric()
    metric.dataset_meta = dict(classes=('background', 'a'), ciss_num_seen=2, ciss_num_old=2)
    metric.process({}, [_sample([[0, 1]], [[0, 1]])])
    res = metric.compute_metrics(metric.results)
    assert res['mIoU_old'] == pytest.approx(100.0) and res['mIoU_all'] == pytest.approx(100.0)
    assert math.isnan(res['mIoU_new']) and math.isnan(res['hIoU'])
