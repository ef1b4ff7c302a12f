"""Soft labels of TopoMortar's self-distillation framework: file layout, I/O and the loading transform.

Self-distillation (METHODS §3.4, :class:`visionx.engine.loops.SelfDistillationLoop`) trains rounds 2-3 on
the previous round's softmax probabilities.  They are stored one ``.npy`` file per training image::

    <soft_label_dir>/<image stem>.npy      float32 (C, H, W), C = 2 for TopoMortar, sums to 1 over C

at the image's original resolution.  :class:`LoadSoftLabels` reads them into the pipeline as
``gt_soft_seg`` (H, W, C) and lists that key in ``seg_fields``, so mmseg's ``RandomCrop`` and
``RandomFlip`` move it with the image; :class:`~visionx.datasets.topomortar.TopoMortarAugment` resamples
it bilinearly and :class:`~visionx.datasets.topomortar.PackTopoMortarInputs` packs it as a float
(C, H, W) ``gt_soft_seg`` field of the data sample.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from mmcv.transforms import BaseTransform

from visionx.registry import TRANSFORMS
from visionx.utils.soft_labels import (SOFT_LABEL_KEY, check_soft_label, load_soft_label,  # noqa: F401
                                       save_soft_label, soft_label_path)

@TRANSFORMS.register_module()
class LoadSoftLabels(BaseTransform):
    """Load the soft label of the image (``<soft_label_dir>/<image stem>.npy``) for self-distillation.

    Put it right after ``LoadAnnotations`` in the training pipeline.  With ``soft_label_dir=None`` (round 1
    of self-distillation, or any other training) it does nothing;
    :class:`~visionx.engine.loops.SelfDistillationLoop` sets the directory of each round.

    Required Keys: img_path, img (optional, for the size check), seg_fields (optional).
    Added Keys: gt_soft_seg (H, W, C) float32.  Modified Keys: seg_fields, gt_seg_map (``replace_hard``).

    Args:
        soft_label_dir: folder of the ``.npy`` soft labels, or ``None`` to do nothing.
        replace_hard: replace ``gt_seg_map`` by the arg-max of the soft label (ties go to class 0), so
            that everything derived from the hard label (``TubedSkeleton``, ``RandomCrop``'s
            ``cat_max_ratio``, losses that arg-max soft labels) sees the distilled label, as in TopoMortar
            where rounds 2-3 only have the soft labels.
    """

    def __init__(self, soft_label_dir: str | os.PathLike | None = None, replace_hard: bool = True) -> None:
        self.soft_label_dir = None if soft_label_dir is None else str(soft_label_dir)
        self.replace_hard = replace_hard

    def transform(self, results: dict) -> dict:
        if self.soft_label_dir is None:
            return results
        if 'img_path' not in results:
            raise KeyError('LoadSoftLabels needs "img_path" in the results (put it after LoadImageFromFile)')
        path = soft_label_path(self.soft_label_dir, results['img_path'])
        probs = load_soft_label(path)
        if 'img' in results and tuple(results['img'].shape[:2]) != tuple(probs.shape[1:]):
            raise ValueError(f'{path}: soft label of size {probs.shape[1:]} does not match the image '
                             f'{results["img_path"]} of size {results["img"].shape[:2]}; put LoadSoftLabels '
                             'before any geometric transform')
        results[SOFT_LABEL_KEY] = np.ascontiguousarray(probs.transpose(1, 2, 0))
        fields = results.setdefault('seg_fields', [])
        if SOFT_LABEL_KEY not in fields:
            fields.append(SOFT_LABEL_KEY)
        if self.replace_hard:
            dtype = results['gt_seg_map'].dtype if 'gt_seg_map' in results else np.uint8
            results['gt_seg_map'] = probs.argmax(0).astype(dtype)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(soft_label_dir={self.soft_label_dir!r}, replace_hard={self.replace_hard})'
