"""3D volume transforms for TraCoCo (``docs/METHODS.md`` part B §2.2).

Training pipeline of the paper: ``LoadH5Volume -> RandomRotFlip3D -> MinMaxNormalize3D ->
RandomBrightness3D -> TranslatedViewCrop3D -> PackVolumeInputs``; evaluation:
``LoadH5Volume -> MinMaxNormalize3D -> PackVolumeInputs`` (the official test transform also min-max
normalises).  Volumes are numpy arrays indexed (X, Y, Z); randomness comes from ``np.random`` (seeded per
worker by MMEngine).
"""
from __future__ import annotations

import os.path as osp
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from visionx.registry import TRANSFORMS
from visionx.utils.errors import DataFormatError, UserFileNotFoundError


def check_volume(image: np.ndarray, source: str, nan_policy: str = 'raise') -> np.ndarray:
    """Validate a single-channel 3D volume (X, Y, Z); squeeze singleton channel axes.

    Args:
        image: The array read from disk.
        source: File name for error messages.
        nan_policy: ``'raise'`` on NaN / Inf, or ``'zero'`` to replace them by 0.
    """
    image = np.asarray(image)
    if image.ndim == 4 and 1 in (image.shape[0], image.shape[-1]):
        image = image.squeeze(0) if image.shape[0] == 1 else image.squeeze(-1)
    if image.ndim != 3:
        raise DataFormatError(f'{source}: expected a 3D volume (X, Y, Z), got an array of shape {image.shape}'
                              + (' (a 2D image?)' if image.ndim == 2 else ''))
    if not np.issubdtype(image.dtype, np.number):
        raise DataFormatError(f'{source}: expected a numeric volume, got dtype {image.dtype}')
    bad = ~np.isfinite(image)
    if bad.any():
        if nan_policy == 'zero':
            image = np.where(bad, 0, image)
        else:
            raise DataFormatError(f'{source}: the volume has {int(bad.sum())} NaN/Inf voxels; clean it or use '
                                  "nan_policy='zero'")
    return image


@TRANSFORMS.register_module()
class LoadH5Volume(BaseTransform):
    """Read ``image`` and ``label`` from a case's HDF5 file.

    Required keys: ``h5_path``.  Added keys: ``img`` (float32 (X, Y, Z)), ``gt_seg`` (uint8 (X, Y, Z), when
    ``with_label``), ``ori_shape``.

    Args:
        image_key: HDF5 dataset of the image.
        label_key: HDF5 dataset of the label.
        with_label: Load the label.
        nan_policy: ``'raise'`` (default) or ``'zero'`` for NaN / Inf voxels.
    """

    def __init__(self, image_key: str = 'image', label_key: str = 'label', with_label: bool = True,
                 nan_policy: str = 'raise') -> None:
        if nan_policy not in ('raise', 'zero'):
            raise ValueError(f"nan_policy must be 'raise' or 'zero', got {nan_policy!r}")
        self.image_key, self.label_key, self.with_label, self.nan_policy = image_key, label_key, with_label, nan_policy

    def transform(self, results: dict) -> dict:
        import h5py
        path = results['h5_path']
        if not osp.isfile(path):
            raise UserFileNotFoundError(f'{path} not found; expected an HDF5 file with datasets '
                                        f'"{self.image_key}" and "{self.label_key}"')
        with h5py.File(path, 'r') as f:
            keys = [self.image_key] + ([self.label_key] if self.with_label else [])
            missing = [k for k in keys if k not in f]
            if missing:
                raise DataFormatError(f'{path}: missing HDF5 dataset(s) {missing}; found {sorted(f.keys())}, expected '
                                      f'"{self.image_key}" (X, Y, Z float) and "{self.label_key}" (X, Y, Z binary)')
            image = check_volume(f[self.image_key][()], path, self.nan_policy).astype(np.float32)
            results['img'] = image
            results['ori_shape'] = image.shape
            if self.with_label:
                label = np.asarray(f[self.label_key][()])
                if label.shape != image.shape:
                    label = check_volume(label, path)
                if label.shape != image.shape:
                    raise DataFormatError(f'{path}: label shape {label.shape} differs from image shape {image.shape}')
                results['gt_seg'] = label.astype(np.uint8)
        return results


@TRANSFORMS.register_module()
class RandomRotFlip3D(BaseTransform):
    """Rotate by ``k·90°`` (k uniform in 0..3) in the X-Y plane, then flip along X or Y (uniform).

    Modified keys: ``img``, ``gt_seg``.
    """

    def transform(self, results: dict) -> dict:
        k = np.random.randint(0, 4)
        axis = np.random.randint(0, 2)
        for key in ('img', 'gt_seg'):
            if key in results:
                results[key] = np.ascontiguousarray(np.flip(np.rot90(results[key], k, axes=(0, 1)), axis=axis))
        return results


@TRANSFORMS.register_module()
class MinMaxNormalize3D(BaseTransform):
    """``(I − min) / (max − min)`` per volume; a constant volume becomes all zeros.

    Modified keys: ``img``.
    """

    def transform(self, results: dict) -> dict:
        img = results['img']
        lo, hi = float(img.min()), float(img.max())
        results['img'] = ((img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class RandomBrightness3D(BaseTransform):
    """Multiply by ``U(low, high)`` and clip to [0, 1] (official range (0.75, 1.25)).

    Modified keys: ``img``.
    """

    def __init__(self, scale_range: Sequence[float] = (0.75, 1.25), clip: bool = True) -> None:
        self.scale_range, self.clip = tuple(scale_range), clip

    def transform(self, results: dict) -> dict:
        img = results['img'] * np.random.uniform(*self.scale_range)
        results['img'] = (np.clip(img, 0.0, 1.0) if self.clip else img).astype(np.float32)
        return results


def _axis_overlap(main: int, trans: int, patch: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Overlap ranges of two crops of length ``patch`` starting at ``main`` / ``trans``, in each crop's
    local coordinates: main ``[max(0, t−m), P − max(0, m−t))``, translated
    ``[max(0, m−t), P − max(0, t−m))``."""
    return ((max(0, trans - main), patch - max(0, main - trans)),
            (max(0, main - trans), patch - max(0, trans - main)))


@TRANSFORMS.register_module()
class TranslatedViewCrop3D(BaseTransform):
    """Cut a main crop and a translated crop of the same volume and record their overlap.

    Facts reproduced (official ``RandomCrop``): if the volume is not larger than the patch in any axis,
    X and Y are zero-padded by ``(patch − dim)//2 + 1`` on each side; the main origin is uniform in
    ``[0, dim − patch)``; the translated origin is uniform in ``[0, main)`` (``main`` when it is 0), and
    on X and Y it is moved by ``main // 2`` when the shift would exceed the patch.  So the translated crop
    is shifted towards lower indices.

    Deviations (documented): the official code hard-codes LA's 112/80 in the overlap formulas, here the
    patch size is used; when Z is smaller than the patch the official code fails, here Z is zero-padded to
    the patch size (``pad_z=True``); an axis exactly equal to the patch gets origin 0 instead of failing;
    if a shift still exceeds the patch (only possible when a volume is more than twice the patch) the
    translated origin is pulled back so that at least one voxel overlaps.

    Required keys: ``img``, optional ``gt_seg``.  Modified keys: ``img``, ``gt_seg`` (main crop).
    Added keys: ``trans_img``, ``trans_gt_seg``, ``overlap`` (``(main_box, trans_box)``, each
    ``((x0, x1), (y0, y1), (z0, z1))`` in crop coordinates), ``crop_origins``.

    Args:
        patch_size: (px, py, pz), e.g. (112, 112, 80) for LA, (96, 96, 96) for Pancreas / BraTS.
        pad_z: Zero-pad Z when it is smaller than the patch.
    """

    def __init__(self, patch_size: Sequence[int], pad_z: bool = True) -> None:
        if len(patch_size) != 3 or min(patch_size) <= 0:
            raise ValueError(f'patch_size must be three positive ints, got {patch_size}')
        self.patch_size, self.pad_z = tuple(int(p) for p in patch_size), pad_z

    def _pad(self, results: dict) -> None:
        shape, patch = results['img'].shape, self.patch_size
        pads = [(0, 0)] * 3
        if any(s <= p for s, p in zip(shape, patch)):
            pw = max((patch[0] - shape[0]) // 2 + 1, 0)
            ph = max((patch[1] - shape[1]) // 2 + 1, 0)
            pads = [(pw, pw), (ph, ph), (0, 0)]
        if self.pad_z and shape[2] < patch[2]:
            pz = patch[2] - shape[2]
            pads[2] = (pz // 2, pz - pz // 2)
        if any(p != (0, 0) for p in pads):
            for key in ('img', 'gt_seg'):
                if key in results:
                    results[key] = np.pad(results[key], pads, mode='constant', constant_values=0)
        if any(s < p for s, p in zip(results['img'].shape, patch)):
            raise ValueError(f'volume of shape {shape} cannot hold the patch {patch} '
                             '(Z is not padded with pad_z=False)')

    def transform(self, results: dict) -> dict:
        self._pad(results)
        shape, patch = results['img'].shape, self.patch_size
        main = [np.random.randint(0, s - p) if s > p else 0 for s, p in zip(shape, patch)]
        trans = [np.random.randint(0, m) if m != 0 else 0 for m in main]
        for a in (0, 1):
            if main[a] - trans[a] > patch[a]:
                trans[a] += int(main[a] / 2)
        for a in range(3):  # guarantee a non-empty overlap
            trans[a] = min(max(trans[a], main[a] - patch[a] + 1), main[a] + patch[a] - 1, shape[a] - patch[a])
        boxes = [_axis_overlap(m, t, p) for m, t, p in zip(main, trans, patch)]

        def crop(arr: np.ndarray, o: Sequence[int]) -> np.ndarray:
            return np.ascontiguousarray(arr[o[0]:o[0] + patch[0], o[1]:o[1] + patch[1], o[2]:o[2] + patch[2]])

        for key in ('img', 'gt_seg'):
            if key in results:
                results[f'trans_{key}'] = crop(results[key], trans)
                results[key] = crop(results[key], main)
        results['overlap'] = (tuple(b[0] for b in boxes), tuple(b[1] for b in boxes))
        results['crop_origins'] = (tuple(main), tuple(trans))
        return results


@TRANSFORMS.register_module()
class PackVolumeInputs(BaseTransform):
    """Pack a volume (or a pair of views) into ``inputs`` + a :class:`BaseDataElement`.

    Training (after :class:`TranslatedViewCrop3D`): ``inputs`` (2, 1, X, Y, Z) = (main, translated),
    ``gt_label`` (2, X, Y, Z).  Evaluation: ``inputs`` (1, X, Y, Z), ``gt_label`` (X, Y, Z).

    Required keys: ``img``; optional ``gt_seg``, ``trans_img``, ``trans_gt_seg``.
    Added keys: ``inputs``, ``data_samples`` (meta: the ``meta_keys`` present).
    """

    def __init__(self, meta_keys: Sequence[str] = ('case', 'h5_path', 'img_path', 'ori_shape', 'spacing',
                                                   'is_labeled', 'overlap', 'crop_origins', 'affine')) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        img = torch.from_numpy(np.ascontiguousarray(results['img'], dtype=np.float32))
        if 'trans_img' in results:
            inputs = torch.stack([img, torch.from_numpy(results['trans_img'].astype(np.float32))]).unsqueeze(1)
        else:
            inputs = img.unsqueeze(0)
        sample = BaseDataElement(metainfo={k: results[k] for k in self.meta_keys if k in results})
        if 'gt_seg' in results:
            gt = torch.from_numpy(results['gt_seg'].astype(np.int64))
            if 'trans_gt_seg' in results:
                gt = torch.stack([gt, torch.from_numpy(results['trans_gt_seg'].astype(np.int64))])
            sample.gt_label = gt
        return dict(inputs=inputs, data_samples=sample)
