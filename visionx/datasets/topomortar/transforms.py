"""TopoMortar data transforms: z-score, the nnU-Net-like augmentations, RandHue, tubed skeletons, packing.

Images are H x W x 3 arrays as mmcv loads them (BGR); labels (H, W) with mortar = 1 after the dataset's
255 -> 1 mapping.  cv2/PIL loading does not transpose images, so TopoMortar's flipud(rot90) on saved
predictions is not needed here.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs

from visionx.registry import TRANSFORMS

from .soft_labels import SOFT_LABEL_KEY, check_soft_label

DEFAULT_META_KEYS = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor',
                     'flip', 'flip_direction', 'reduce_zero_label', 'group')


@TRANSFORMS.register_module()
class ZScoreNormalize(BaseTransform):
    """Channel-wise z-score of each image (MONAI ``NormalizeIntensity(channel_wise=True)``).

    Required Keys: img.  Modified Keys: img (float32).
    """

    def transform(self, results: dict) -> dict:
        img = results['img'].astype(np.float32)
        img = img[..., None] if img.ndim == 2 else img
        mean = img.mean(axis=(0, 1), keepdims=True)
        std = img.std(axis=(0, 1), keepdims=True)
        results['img'] = np.where(std > 0, (img - mean) / np.where(std > 0, std, 1), img - mean)
        return results


@TRANSFORMS.register_module()
class TopoMortarAugment(BaseTransform):
    """TopoMortar's training augmentations (METHODS §3.4), applied with MONAI's dictionary transforms.

    In order: RandRotate (p .2, [-pi, pi]), RandZoom (p .2, 0.7-1.4), RandGaussianNoise (p .1, std .1),
    RandGaussianSmooth (p .2, sigma 0.5-1), RandScaleIntensity (p .15, +-0.25), RandScaleIntensityFixedMean
    (p .15, +-0.25, preserve range), RandSimulateLowResolution (p .25, zoom 0.5-1), RandAdjustContrast
    inverted and not (p .1 each, gamma 0.7-1.5, retain stats), RandAxisFlip (p .5).  Images use bilinear
    and labels nearest interpolation.  The MONAI random state is re-seeded from NumPy's global
    generator on every call, so mmengine's ``randomness`` seed and per-worker seeding apply and a resumed
    run (whose NumPy state is checkpointed) draws the same augmentations.

    Self-distillation soft labels (``gt_soft_seg``, (H, W, C) from :class:`LoadSoftLabels`) follow the
    same rotation, zoom and flips with bilinear interpolation (border/edge padding), which keeps them
    probabilities that sum to 1; the intensity transforms leave them alone.  Their presence does not change
    the random draws, so the image/label augmentation stream is the same with and without them.

    Required Keys: img, gt_seg_map, gt_soft_seg (optional).
    Modified Keys: img (float32), gt_seg_map, gt_soft_seg (float32).

    **Crop first** (``crop_size=(h, w)``; default None = the official order, augment the whole image and
    let a later ``RandomCrop`` cut the training patch).  A window is cut first at a uniformly drawn position,
    augmented, and its centre ``crop_size`` kept: the window's side is ``ceil(crop * sqrt(2) / 0.7)``
    (clipped to the image), so any rotation (up to pi) combined with the strongest zoom-out (0.7) still
    fills the kept centre with image content, as inside a whole-image augmentation.  On 512^2 TopoMortar
    images with 128^2 crops the window is 259^2, about a quarter of the pixels.  Differences from the
    official order: rotation and zoom turn about the window's centre rather than the image's (the kept
    patch's position is random either way), zoom-out borders padded with edge values appear only when the
    window touches the image border, and the image-level statistics used by
    ``RandScaleIntensityFixedMean`` / ``RandAdjustContrast(retain_stats)`` are the window's.  The output
    is ``crop_size``, so a following ``RandomCrop`` of that size changes nothing.

    Args:
        prob_scale: multiplies every probability (1 = TopoMortar; 0 disables the augmentations).
        crop_size: (h, w) of the training patch to cut first, or None for the official order.
    """

    #: Strongest zoom-out of ``RandZoomd`` (min_zoom): the window must be 1 / 0.7 larger than the patch.
    MIN_ZOOM = 0.7

    def __init__(self, prob_scale: float = 1.0, crop_size: tuple[int, int] | None = None) -> None:
        import monai.transforms as mt
        if prob_scale < 0:
            raise ValueError(f'prob_scale must be >= 0, got {prob_scale}')
        if crop_size is not None:
            crop_size = tuple(int(v) for v in crop_size)
            if len(crop_size) != 2 or min(crop_size) < 1:
                raise ValueError(f'crop_size must be (h, w) with positive sides, got {crop_size}')
        self.crop_size = crop_size
        s = prob_scale
        # 'soft' (self-distillation soft labels) is optional: allow_missing_keys skips it when absent.
        k, i = ['img', 'seg', 'soft'], ['img']
        self.prob_scale = prob_scale
        self.compose = mt.Compose([
            mt.RandRotated(k, range_x=np.pi, prob=0.2 * s, mode=['bilinear', 'nearest', 'bilinear'],
                           allow_missing_keys=True),
            mt.RandZoomd(k, prob=0.2 * s, min_zoom=self.MIN_ZOOM, max_zoom=1.4,
                         mode=['bilinear', 'nearest-exact', 'bilinear'], allow_missing_keys=True),
            mt.RandGaussianNoised(i, prob=0.1 * s, mean=0.0, std=0.1),
            mt.RandGaussianSmoothd(i, sigma_x=(0.5, 1.0), sigma_y=(0.5, 1.0), prob=0.2 * s),
            mt.RandScaleIntensityd(i, factors=0.25, prob=0.15 * s),
            mt.RandScaleIntensityFixedMeand(i, factors=0.25, preserve_range=True, prob=0.15 * s),
            mt.RandSimulateLowResolutiond(i, prob=0.25 * s, zoom_range=(0.5, 1.0),
                                          downsample_mode='bilinear', upsample_mode='nearest'),
            mt.RandAdjustContrastd(i, prob=0.1 * s, gamma=(0.7, 1.5), invert_image=True, retain_stats=True),
            mt.RandAdjustContrastd(i, prob=0.1 * s, gamma=(0.7, 1.5), invert_image=False, retain_stats=True),
            mt.RandAxisFlipd(k, prob=0.5 * s, allow_missing_keys=True),
        ])

    def transform(self, results: dict) -> dict:
        # MONAI transforms keep their own generators; drawing their seed from NumPy's global generator on
        # every call keeps all the randomness in the stream that mmengine seeds (per worker) and that
        # RNGStateHook checkpoints, so a resumed run draws the same augmentations as an uninterrupted one.
        self.compose.set_random_state(seed=int(np.random.randint(0, 2**31 - 1)))
        window = self._window(results['img'].shape[:2]) if self.crop_size is not None else None
        keys = ['img', 'gt_seg_map'] + ([SOFT_LABEL_KEY] if SOFT_LABEL_KEY in results else [])
        arrays = {key: results[key] for key in keys}
        if window is not None:
            (y0, y1), (x0, x1) = window
            arrays = {key: a[y0:y1, x0:x1] for key, a in arrays.items()}
        img = np.ascontiguousarray(arrays['img'].astype(np.float32).transpose(2, 0, 1))
        seg = arrays['gt_seg_map'][None].astype(np.float32)
        data = {'img': img, 'seg': seg}
        if SOFT_LABEL_KEY in results:
            soft = arrays[SOFT_LABEL_KEY].astype(np.float32)
            data['soft'] = np.ascontiguousarray(soft.transpose(2, 0, 1))
        out = self.compose(data)
        out_img = np.asarray(out['img'], np.float32).transpose(1, 2, 0)
        out_seg = np.rint(np.asarray(out['seg'])[0]).astype(results['gt_seg_map'].dtype)
        out_soft = np.asarray(out['soft'], np.float32).transpose(1, 2, 0) if 'soft' in data else None
        if window is not None:  # keep the centre crop_size of the augmented window
            h, w = out_seg.shape
            ch, cw = min(self.crop_size[0], h), min(self.crop_size[1], w)
            top, left = (h - ch) // 2, (w - cw) // 2
            out_img, out_seg = out_img[top:top + ch, left:left + cw], out_seg[top:top + ch, left:left + cw]
            if out_soft is not None:
                out_soft = out_soft[top:top + ch, left:left + cw]
            results['img_shape'] = (ch, cw)
        results['img'] = np.ascontiguousarray(out_img)
        results['gt_seg_map'] = np.ascontiguousarray(out_seg)
        if out_soft is not None:
            results[SOFT_LABEL_KEY] = np.ascontiguousarray(out_soft)
        return results

    def _window(self, shape: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
        """A uniformly placed window ((y0, y1), (x0, x1)) whose augmented centre covers ``crop_size``."""
        bounds = []
        for crop, size in zip(self.crop_size, shape):
            side = min(size, int(np.ceil(crop * np.sqrt(2) / self.MIN_ZOOM)))
            start = int(np.random.randint(0, size - side + 1))
            bounds.append((start, start + side))
        return bounds[0], bounds[1]

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob_scale={self.prob_scale}, crop_size={self.crop_size})'


@TRANSFORMS.register_module()
class RandHue(BaseTransform):
    """TopoMortar's RandHue framework: one random hue for the whole image (METHODS §3.4).

    Min-max scale to [0, 1], convert to HSV, set hue to U(0, 360), add U(0, 0.5) to saturation and value
    (clipped to [0, 1]), convert back and restore the original range.  Works on BGR (mmcv) images.

    Required Keys: img.  Modified Keys: img (float32).

    Args:
        prob: probability of applying it (0.5).
    """

    def __init__(self, prob: float = 0.5) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        img = results['img'].astype(np.float32)
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'RandHue needs an H x W x 3 image, got shape {img.shape}')
        lo, hi = float(img.min()), float(img.max())
        scaled = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
        hsv = cv2.cvtColor(scaled, cv2.COLOR_BGR2HSV)  # float input: H in [0, 360), S, V in [0, 1]
        hsv[..., 0] = np.random.uniform(0, 360)
        hsv[..., 1] = np.clip(hsv[..., 1] + np.random.uniform(0, 0.5), 0, 1)
        hsv[..., 2] = np.clip(hsv[..., 2] + np.random.uniform(0, 0.5), 0, 1)
        out = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        results['img'] = (out * (hi - lo) + lo).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class TubedSkeleton(BaseTransform):
    """Tubed skeleton of the label for :class:`visionx.models.losses.SkeletonRecallLoss` (binary tasks).

    skimage ``skeletonize`` of the foreground (labels 1..254), dilated twice with a cross, times the
    foreground — computed here, in the data-loader workers, instead of in the training step.

    Required Keys: gt_seg_map.  Added Keys: gt_skeleton (H, W) uint8.
    """

    def transform(self, results: dict) -> dict:
        from visionx.utils.topology import tubed_skeleton
        seg = results['gt_seg_map']
        results['gt_skeleton'] = tubed_skeleton((seg > 0) & (seg != 255))
        return results


@TRANSFORMS.register_module()
class PackTopoMortarInputs(PackSegInputs):
    """mmseg ``PackSegInputs`` that also packs ``gt_skeleton`` and soft labels, and keeps the ``group`` key.

    mmseg's ``PackSegInputs`` casts ``gt_seg_map`` to int64; self-distillation soft labels
    (``gt_soft_seg`` (H, W, C) from :class:`LoadSoftLabels`) are packed separately as a float32
    (C, H, W) ``gt_soft_seg`` field of the data sample (``gt_sem_seg`` keeps the hard label).  They are
    checked to still be probabilities: a transform that pads them with mmseg's ``seg_pad_val=255``
    (``Pad``, ``RandomRotate``) raises here instead of training on garbage.

    Required Keys: img, gt_seg_map (optional), gt_skeleton (optional), gt_soft_seg (optional).
    Added Keys: inputs, data_samples.
    """

    def __init__(self, meta_keys=DEFAULT_META_KEYS) -> None:
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        if 'gt_skeleton' in results:
            skel = torch.from_numpy(np.ascontiguousarray(results['gt_skeleton'])[None].astype(np.int64))
            packed['data_samples'].gt_skeleton = PixelData(data=skel)
        if SOFT_LABEL_KEY in results:
            soft = np.ascontiguousarray(np.asarray(results[SOFT_LABEL_KEY], np.float32).transpose(2, 0, 1))
            check_soft_label(soft, f'soft label of {results.get("img_path", "an image")} after the pipeline')
            packed['data_samples'].set_data({SOFT_LABEL_KEY: PixelData(data=torch.from_numpy(soft))})
        return packed
