"""The official RePRI resize: long side to ``size`` (both sides floored to a multiple of 8), then
zero-padding at the bottom / right to ``size × size`` (label padding 255).

This is ``src/dataset/transform.py: Resize`` (from semseg): the image is resized as float32 with
``cv2.INTER_LINEAR``, the label as float32 with ``cv2.INTER_NEAREST``.  The image padding is 0 in pixel
values, i.e. ``−mean/std`` after normalisation, as in the official code.
"""
from __future__ import annotations

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from visionx.registry import TRANSFORMS


def long_side_hw(h: int, w: int, size: int) -> tuple[int, int]:
    """Official ``find_new_hw``: scale the long side to ``size``, floor both sides to a multiple of 8."""
    if h >= w:
        new_h, new_w = size, int(w * (size * 1.0 / h))
    else:
        new_h, new_w = int(h * (size * 1.0 / w)), size
    return (new_h // 8) * 8 if new_h % 8 else new_h, (new_w // 8) * 8 if new_w % 8 else new_w


@TRANSFORMS.register_module()
class LongSideResizePad(BaseTransform):
    """Resize the long side to ``size`` and pad to ``size × size`` at the bottom / right.

    Required keys: ``img``; optional ``gt_seg_map``.
    Modified keys: ``img`` (float32), ``gt_seg_map`` (uint8), ``img_shape``.
    Added keys: ``pad_shape``, ``scale_factor``, ``valid_shape`` (the resized (h, w) before padding).

    Args:
        size: output side (417 in RePRI: ``(size − 1) % 8 == 0``).
        seg_pad_val: label value of padded pixels.
    """

    def __init__(self, size: int = 417, seg_pad_val: int = 255) -> None:
        if int(size) < 8:
            raise ValueError(f'size must be >= 8, got {size}')
        self.size = int(size)
        self.seg_pad_val = int(seg_pad_val)

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        new_h, new_w = long_side_hw(h, w, self.size)
        resized = cv2.resize(img.astype(np.float32), (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        if resized.ndim == 2:
            resized = resized[..., None]
        out = np.zeros((self.size, self.size, resized.shape[2]), np.float32)
        out[:new_h, :new_w] = resized
        results['img'] = out
        if results.get('gt_seg_map') is not None:
            seg = results['gt_seg_map']
            if seg.shape[:2] != (h, w):
                raise ValueError(f'image {results.get("img_path")} is {h}×{w} but its label '
                                 f'{results.get("seg_map_path")} is {seg.shape[0]}×{seg.shape[1]}')
            seg = cv2.resize(seg.astype(np.float32), (new_w, new_h), interpolation=cv2.INTER_NEAREST)
            pad = np.full((self.size, self.size), self.seg_pad_val, np.float32)
            pad[:new_h, :new_w] = seg
            results['gt_seg_map'] = pad.astype(np.uint8)
        results['img_shape'] = (self.size, self.size)
        results['pad_shape'] = (self.size, self.size)
        results['valid_shape'] = (new_h, new_w)
        results['scale_factor'] = (new_w / w, new_h / h)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size}, seg_pad_val={self.seg_pad_val})'
