"""The SSUL/BARM evaluation frame: shorter side resized to ``size``, then a centred ``size`` x ``size`` crop."""
from __future__ import annotations

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from visionx.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CenterCropFrame(BaseTransform):
    """Resize the shorter side to ``size`` and crop the centred ``size`` x ``size`` window (SSUL/BARM
    ``--crop_val``: torchvision ``Resize(513)`` + ``CenterCrop(513)``), image and mask alike.

    The window becomes the sample's original frame (``ori_shape``), so predictions are compared with the
    cropped mask, as in the official evaluation (METHODS.md B§6.3); MiB/PLOP evaluate full images instead (a
    test pipeline without this transform).  Place it after ``LoadAnnotations``.

    Required keys: ``img``, ``gt_seg_map`` (optional).  Modified keys: ``img``, ``gt_seg_map``,
    ``img_shape``, ``ori_shape``.

    Args:
        size: side of the frame in pixels (513).
    """

    def __init__(self, size: int = 513) -> None:
        if not isinstance(size, int) or size < 1:
            raise ValueError(f'size must be a positive integer, got {size!r}')
        self.size = size

    def _frame(self, arr: np.ndarray, interpolation: str) -> np.ndarray:
        h, w = arr.shape[:2]
        scale = self.size / min(h, w)
        nh, nw = max(self.size, int(round(h * scale))), max(self.size, int(round(w * scale)))
        arr = mmcv.imresize(arr, (nw, nh), interpolation=interpolation)
        top, left = (nh - self.size) // 2, (nw - self.size) // 2
        return arr[top:top + self.size, left:left + self.size]

    def transform(self, results: dict) -> dict:
        results['img'] = self._frame(results['img'], 'bilinear')
        if results.get('gt_seg_map') is not None:
            results['gt_seg_map'] = self._frame(results['gt_seg_map'], 'nearest')
        results['img_shape'] = results['ori_shape'] = (self.size, self.size)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size})'
