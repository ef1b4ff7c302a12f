"""Class-incremental segmentation metric: mIoU of old, new and all seen classes, and their harmonic mean.

Reference: METHODS.md part B §6.3 (SSUL/BARM ``metrics/stream_metrics.py``, DKD's hIoU).  One confusion
matrix is accumulated over the whole test set; ``IoU_c = TP / (TP + FP + FN)``; a class absent from both the
labels and the predictions has no IoU (NaN) and is left out of the means (``np.nanmean``, as the official
code).  Old = the step-0 classes **including background** (SSUL/BARM/BACS); new = the classes learnt at steps
>= 1; all = every seen class; ``hIoU = 2 * old * new / (old + new)`` (0 when one of them is 0).  Pixels
labelled 255 or with an id >= the number of seen classes (unseen classes) are not counted.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from visionx.registry import METRICS

IGNORE_INDEX = 255


def confusion_matrix(pred: np.ndarray, label: np.ndarray, num_classes: int) -> np.ndarray:
    """(num_classes, num_classes) int64 matrix ``M[label, pred]`` over the pixels with ``label < num_classes``."""
    pred, label = np.asarray(pred).ravel().astype(np.int64), np.asarray(label).ravel().astype(np.int64)
    valid = (label >= 0) & (label < num_classes)
    return np.bincount(num_classes * label[valid] + np.clip(pred[valid], 0, num_classes - 1),
                       minlength=num_classes ** 2).reshape(num_classes, num_classes)


def ciss_scores(conf: np.ndarray, num_old: int) -> dict:
    """Per-class IoU and the old / new / all mIoU and hIoU (in %) of a confusion matrix.

    Args:
        conf: (N, N) ``M[label, pred]`` over the N seen classes (model order).
        num_old: classes of step 0, background included.

    Returns:
        ``{'IoU': (N,) array (NaN where a class never occurs), 'mIoU_old', 'mIoU_new', 'mIoU_all', 'hIoU'}``;
        ``mIoU_new`` and ``hIoU`` are NaN at step 0 (no new classes).
    """
    conf = conf.astype(np.float64)
    tp = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = np.where(union > 0, tp / np.where(union > 0, union, 1), np.nan)

    def mean(x: np.ndarray) -> float:
        return float(np.nanmean(x)) * 100 if np.isfinite(x).any() else float('nan')

    old, new = mean(iou[:num_old]), mean(iou[num_old:])
    h = float('nan') if np.isnan(old) or np.isnan(new) else (0.0 if old + new == 0 else 2 * old * new / (old + new))
    return dict(IoU=iou * 100, mIoU_old=old, mIoU_new=new, mIoU_all=mean(iou), hIoU=h)


@METRICS.register_module()
class CISSMetric(BaseMetric):
    """Old / new / all mIoU and hIoU after a CISS step (see the module docstring).

    The number of seen classes and of step-0 classes come from the dataset's metainfo (``ciss_num_seen``,
    ``ciss_num_old``, set by :class:`~visionx.datasets.ciss.CISSVOCDataset` /
    :class:`~visionx.datasets.ciss.CISSADE20KDataset`) unless given here.

    Args:
        num_seen: seen classes (background included); default from the metainfo.
        num_old: step-0 classes (background included); default from the metainfo.
        per_class: also return ``IoU.<class name>`` for every seen class.
    """

    default_prefix = None

    def __init__(self, num_seen: int | None = None, num_old: int | None = None, per_class: bool = True,
                 collect_device: str = 'cpu', prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self._num_seen, self._num_old, self.per_class = num_seen, num_old, per_class

    @property
    def num_seen(self) -> int:
        n = self._num_seen if self._num_seen is not None else (self.dataset_meta or {}).get('ciss_num_seen')
        if n is None:
            raise ValueError('CISSMetric needs num_seen, or a CISS dataset (metainfo ciss_num_seen)')
        return int(n)

    @property
    def num_old(self) -> int:
        n = self._num_old if self._num_old is not None else (self.dataset_meta or {}).get('ciss_num_old')
        if n is None:
            raise ValueError('CISSMetric needs num_old, or a CISS dataset (metainfo ciss_num_old)')
        return int(n)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        n = self.num_seen
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze(0)
            label = sample['gt_sem_seg']['data'].squeeze(0).to(pred.device)
            if isinstance(pred, torch.Tensor):
                pred, label = pred.cpu().numpy(), label.cpu().numpy()
            self.results.append(confusion_matrix(pred, label, n))

    def compute_metrics(self, results: list) -> dict:
        conf = np.sum(results, axis=0)
        scores = ciss_scores(conf, self.num_old)
        out = OrderedDict((k, scores[k]) for k in ('mIoU_old', 'mIoU_new', 'mIoU_all', 'hIoU'))
        if self.per_class:
            names = (self.dataset_meta or {}).get('classes') or [str(i) for i in range(self.num_seen)]
            for name, v in zip(names, scores['IoU']):
                out[f'IoU.{name}'] = float(v)
        return out
