"""Sliding-window inference and post-processing for 3D volumes (TraCoCo's ``test_single_case``).

Facts reproduced (``docs/METHODS.md`` part B §2.6): the volume is zero-padded symmetrically to at least the
patch size, windows start every ``stride`` voxels with the last window clamped to the border, **softmax**
probabilities are averaged over the windows covering a voxel, and the label is the arg-max.  Windows are
batched (``batch_size``) instead of run one by one, which gives the same numbers faster.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
from scipy import ndimage


def window_starts(size: int, patch: int, stride: int) -> list[int]:
    """Start indices of the windows along one axis: ``min(stride·i, size − patch)`` for
    ``i < ceil((size − patch) / stride) + 1`` (the official enumeration; duplicates removed)."""
    if stride <= 0:
        raise ValueError(f'stride must be positive, got {stride}')
    if size < patch:
        raise ValueError(f'axis of size {size} is smaller than the patch {patch}; pad first')
    n = math.ceil((size - patch) / stride) + 1
    return sorted({min(stride * i, size - patch) for i in range(n)})


@torch.no_grad()
def sliding_window_predict(net: Callable[[torch.Tensor], torch.Tensor], volume: torch.Tensor,
                           patch_size: Sequence[int], strides: Sequence[int], num_classes: int,
                           batch_size: int = 4) -> torch.Tensor:
    """Average the softmax of ``net`` over overlapping windows.

    Args:
        net: Maps (N, C_in, px, py, pz) to logits (N, num_classes, px, py, pz).
        volume: (C_in, X, Y, Z) image.
        patch_size: Window size (px, py, pz).
        strides: Window strides (sx, sy, sz), e.g. (18, 18, 4) for LA, (16, 16, 16) for BraTS / Pancreas.
        num_classes: Output classes.
        batch_size: Windows per forward pass.

    Returns:
        (num_classes, X, Y, Z) averaged probabilities on the unpadded grid.
    """
    if volume.dim() != 4:
        raise ValueError(f'expected a (C, X, Y, Z) volume, got shape {tuple(volume.shape)}')
    if not torch.isfinite(volume).all():
        raise ValueError('the volume contains NaN or Inf values; clean or normalise it first')
    shape = volume.shape[1:]
    pads = [max(p - s, 0) for s, p in zip(shape, patch_size)]
    if any(pads):
        # F.pad takes (z_lo, z_hi, y_lo, y_hi, x_lo, x_hi).
        spec = [v for p in reversed(pads) for v in (p // 2, p - p // 2)]
        volume = torch.nn.functional.pad(volume, spec)
    padded = volume.shape[1:]
    starts = [window_starts(s, p, st) for s, p, st in zip(padded, patch_size, strides)]
    corners = [(x, y, z) for x in starts[0] for y in starts[1] for z in starts[2]]
    px, py, pz = patch_size
    score = volume.new_zeros((num_classes, *padded))
    count = volume.new_zeros(padded)
    for i in range(0, len(corners), batch_size):
        chunk = corners[i:i + batch_size]
        batch = torch.stack([volume[:, x:x + px, y:y + py, z:z + pz] for x, y, z in chunk])
        prob = net(batch).softmax(1)
        for (x, y, z), p in zip(chunk, prob):
            score[:, x:x + px, y:y + py, z:z + pz] += p
            count[x:x + px, y:y + py, z:z + pz] += 1
    score /= count
    lo = [p // 2 for p in pads]
    return score[:, lo[0]:lo[0] + shape[0], lo[1]:lo[1] + shape[1], lo[2]:lo[2] + shape[2]]


def remove_small_components(mask: np.ndarray, min_size: int = 8000, keep_largest: bool = False) -> np.ndarray:
    """Drop 26-connected foreground components smaller than ``min_size`` voxels (official ``--post``).

    Args:
        mask: (X, Y, Z) binary mask.
        min_size: Components with fewer voxels are removed (8000 in the official LA script).
        keep_largest: Keep only the largest component instead (the SASSNet ``getLargestCC`` variant).

    Returns:
        The cleaned mask (same dtype).
    """
    labels, n = ndimage.label(mask > 0, structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    keep = np.zeros_like(sizes, bool)
    if keep_largest:
        keep[sizes.argmax()] = True
    else:
        keep = sizes >= min_size
        keep[0] = False
    return (mask * keep[labels]).astype(mask.dtype)
