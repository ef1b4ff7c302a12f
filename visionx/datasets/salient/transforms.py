"""Transforms of the salient-object pipeline (BASNet ``RescaleT`` / ``RandomCrop`` / ``ToTensorLab``).

The official training pipeline maps onto mmseg transforms as::

    LoadImageFromFile -> LoadSalientMask -> Resize(256, 256, keep_ratio=False)  # RescaleT(256)
    -> RandomCrop(224) -> NormalizeByMax -> PackSalientInputs                   # + SegDataPreProcessor

``NormalizeByMax`` + ``SegDataPreProcessor(mean=255*imagenet_mean, std=255*imagenet_std)`` reproduces
``ToTensorLab(flag=0)``: ``(img / img.max() - mean) / std``.
"""
from __future__ import annotations

import os.path as osp

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs

from visionx.registry import TRANSFORMS
from visionx.utils.errors import DataFormatError, UserFileNotFoundError


def read_mask(path: str, scale: str = 'max') -> np.ndarray:
    """Read a saliency mask as float32 (H, W) in [0, 1].

    Args:
        path: PNG/JPG/BMP/TIFF mask, 8- or 16-bit, grey or colour (colour: the R channel is used, as the
            official loader takes the first RGB channel).
        scale: ``'max'`` divides by the mask's maximum (official BASNet loader; an all-zero mask stays 0),
            ``'dtype'`` by the dtype's maximum (255 / 65535).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not a readable image, or ``scale`` is unknown.
    """
    if not osp.isfile(path):
        raise UserFileNotFoundError(f'mask {path!r} not found (expected a grey PNG, 0 = background, '
                                    '255 = salient, soft values allowed)')
    mask = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise DataFormatError(f'mask {path!r} is not a readable image (expected a grey PNG, 0/255)')
    if mask.ndim == 3:
        mask = mask[..., 2] if mask.shape[2] >= 3 else mask[..., 0]
    if scale == 'max':
        peak = float(mask.max()) if mask.size else 0.0
        out = mask.astype(np.float32) / peak if peak >= 1e-6 else mask.astype(np.float32)
    elif scale == 'dtype':
        peak = float(np.iinfo(mask.dtype).max) if np.issubdtype(mask.dtype, np.integer) else 1.0
        out = mask.astype(np.float32) / peak
    else:
        raise ValueError(f"scale must be 'max' or 'dtype', got {scale!r}")
    return np.clip(out, 0.0, 1.0)


@TRANSFORMS.register_module()
class LoadSalientMask(BaseTransform):
    """Load a saliency mask as a float map in [0, 1] (soft values kept).

    Required Keys: ``seg_map_path``.
    Added Keys: ``gt_seg_map`` (float32 (H, W)), ``seg_fields``.

    Args:
        scale: ``'max'`` (official, divide by the mask max) or ``'dtype'``; see :func:`read_mask`.
    """

    def __init__(self, scale: str = 'max') -> None:
        if scale not in ('max', 'dtype'):
            raise ValueError(f"scale must be 'max' or 'dtype', got {scale!r}")
        self.scale = scale

    def transform(self, results: dict) -> dict:
        results['gt_seg_map'] = read_mask(results['seg_map_path'], self.scale)
        results.setdefault('seg_fields', [])
        if 'gt_seg_map' not in results['seg_fields']:
            results['seg_fields'].append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(scale={self.scale!r})'


@TRANSFORMS.register_module()
class NormalizeByMax(BaseTransform):
    """Scale the image so that its maximum is 255 (BASNet ``ToTensorLab`` divides by ``img.max()``).

    Required Keys: ``img``.  Modified Keys: ``img`` (float32).
    """

    def transform(self, results: dict) -> dict:
        img = results['img'].astype(np.float32)
        peak = float(img.max()) if img.size else 0.0
        results['img'] = img * (255.0 / peak) if peak > 1e-6 else img
        return results


@TRANSFORMS.register_module()
class PackSalientInputs(PackSegInputs):
    """``PackSegInputs`` that keeps the ground truth as float [0, 1] (mmseg's casts it to int64).

    Required Keys: ``img``, ``gt_seg_map`` (optional).
    Added Keys: ``inputs``, ``data_samples`` (``gt_sem_seg`` float32 (1, H, W)); meta includes
    ``dataset_name``.
    """

    def __init__(self, meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                                  'scale_factor', 'flip', 'flip_direction', 'dataset_name')) -> None:
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        gt = results.pop('gt_seg_map', None)
        packed = super().transform(results)
        if gt is not None:
            results['gt_seg_map'] = gt
            gt = np.ascontiguousarray(gt, dtype=np.float32)
            packed['data_samples'].gt_sem_seg = PixelData(data=torch.from_numpy(gt[None]))
        return packed
