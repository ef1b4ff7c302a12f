"""Boundary IoU for semantic segmentation (Cheng et al., CVPR 2021), beside mmseg's ``IoUMetric``.

Boundary IoU measures how well a prediction follows the ground-truth contours: for a binary mask ``M`` its
inner boundary band ``M_d`` holds the pixels of ``M`` within ``d`` pixels of the contour
(``M_d = M ∧ ¬erode_d(M)``), and ``BIoU = |G_d ∩ P_d| / |G_d ∪ P_d|`` (with ``G_d ∩ G`` = ``G_d`` since
the band lies inside the mask).  As in the official ``mask_to_boundary`` the mask is padded with 0, so the
image border counts as a contour, and the erosion uses a (2d+1)×(2d+1) square (d iterations of 3×3).
Per class, intersections and unions are summed over the dataset; ``mBIoU`` averages the classes with a
non-empty union.  Ignored pixels (``ignore_index``) are removed from both bands after they are computed.
The trimap width ``d`` is a fixed number of pixels set in the config (``boundary_width``), not the paper's
2 % of the image diagonal, so that the demo and the benchmarks report one stated width.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric

from visionx.registry import METRICS

__all__ = ['boundary_bands', 'BoundaryIoUMetric']


def boundary_bands(label: torch.Tensor, num_classes: int, width: int) -> torch.Tensor:
    """Inner boundary bands of every class mask of a label map.

    Args:
        label: (H, W) integer labels (values outside ``[0, num_classes)`` belong to no class).
        num_classes: C.
        width: band width d in pixels (>= 1).

    Returns:
        (C, H, W) bool: pixel of class c within ``width`` pixels (chessboard distance) of the contour of
        class c's mask, the image border counting as a contour.
    """
    if width < 1:
        raise ValueError(f'boundary width must be >= 1 pixel, got {width}')
    masks = (label.long().unsqueeze(0) == torch.arange(num_classes, device=label.device).view(-1, 1, 1)).float()
    outside = F.pad(1.0 - masks, (width, width, width, width), value=1.0).unsqueeze(0)
    near_contour = F.max_pool2d(outside, 2 * width + 1, stride=1)[0] > 0  # erode_d(M) is its complement
    return masks.bool() & near_contour


@METRICS.register_module()
class BoundaryIoUMetric(BaseMetric):
    """Mean boundary IoU over classes (``mBIoU``, in %) of ``pred_sem_seg`` against ``gt_sem_seg``.

    Args:
        num_classes: number of classes; defaults to the dataset's ``classes`` (``dataset_meta``).
        boundary_width: trimap width d in pixels.
        ignore_index: label excluded from the evaluation.
        collect_device, prefix: as :class:`mmengine.evaluator.BaseMetric`.
    """

    default_prefix = None

    def __init__(self, num_classes: int | None = None, boundary_width: int = 2, ignore_index: int = 255,
                 collect_device: str = 'cpu', prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if boundary_width < 1:
            raise ValueError(f'BoundaryIoUMetric: boundary_width must be >= 1 pixel, got {boundary_width}')
        self.num_classes = num_classes
        self.boundary_width = int(boundary_width)
        self.ignore_index = ignore_index

    def _classes(self) -> int:
        if self.num_classes is not None:
            return self.num_classes
        if not self.dataset_meta or 'classes' not in self.dataset_meta:
            raise ValueError('BoundaryIoUMetric needs num_classes or a dataset with METAINFO classes')
        return len(self.dataset_meta['classes'])

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Accumulate per-class band intersections and unions of each sample."""
        n = self._classes()
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze(0).cpu()
            gt = sample['gt_sem_seg']['data'].squeeze(0).to(pred.device)
            valid = gt != self.ignore_index
            p_band = boundary_bands(pred, n, self.boundary_width) & valid
            g_band = boundary_bands(gt, n, self.boundary_width) & valid
            inter = (p_band & g_band).sum((1, 2)).numpy()
            union = (p_band | g_band).sum((1, 2)).numpy()
            self.results.append((inter, union))

    def compute_metrics(self, results: list) -> dict:
        """``{'mBIoU': mean over classes with a non-empty union, in %}``."""
        inter = np.sum([r[0] for r in results], axis=0)
        union = np.sum([r[1] for r in results], axis=0)
        present = union > 0
        value = float((inter[present] / union[present]).mean() * 100) if present.any() else float('nan')
        return OrderedDict(mBIoU=round(value, 2))
