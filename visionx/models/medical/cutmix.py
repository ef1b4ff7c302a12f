"""3D CutMix as used for TraCoCo's second network (``docs/METHODS.md`` part B §2.3).

Facts reproduced: one ``lam ~ Beta(4, 4)`` per batch; a box of side ratio ``sqrt(1 − lam)`` on the two
in-plane axes (X, Y); per-sample box centres ``~ U[size/8, size)``; the partner of each sample is a random
permutation of the batch; the same box is pasted into the input and into the peer's logits.  The official
box spans the whole depth (a prism); ``full_depth=False`` gives a cuboid instead, with the depth side
``(1 − lam)^(1/3) · Z`` and the in-plane sides ``(1 − lam)^(1/3)`` as well, so that the mixed volume
fraction is again about ``1 − lam``.
"""
from __future__ import annotations

import numpy as np
import torch


def rand_boxes_3d(shape: tuple[int, int, int], batch: int, lam: float, full_depth: bool = True,
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """Sample ``batch`` CutMix boxes.

    Args:
        shape: Spatial size (X, Y, Z).
        batch: Number of boxes.
        lam: Mixing ratio in [0, 1].
        full_depth: Official prism spanning Z (True) or a cuboid (False).
        rng: Random generator (``np.random`` global state if None, as the official code).

    Returns:
        (batch, 3, 2) int array of ``[lo, hi)`` per axis.
    """
    if not 0 <= lam <= 1:
        raise ValueError(f'lam must be in [0, 1], got {lam}')
    randint = rng.integers if rng is not None else np.random.randint
    ratio = np.sqrt(1 - lam) if full_depth else (1 - lam) ** (1 / 3)
    boxes = np.zeros((batch, 3, 2), np.int64)
    axes = 2 if full_depth else 3
    for a in range(axes):
        size = shape[a]
        cut = int(size * ratio)
        centre = randint(int(size / 8), size, size=batch)
        boxes[:, a, 0] = np.clip(centre - cut // 2, 0, size)
        boxes[:, a, 1] = np.clip(centre + cut // 2, 0, size)
    if full_depth:
        boxes[:, 2] = (0, shape[2])
    return boxes


def cutmix_3d(volume: torch.Tensor, target: torch.Tensor, beta: float = 4.0, full_depth: bool = True,
              rng: np.random.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste a box of a permuted partner into each sample of ``volume`` and ``target``.

    Args:
        volume: (B, C, X, Y, Z) input images.
        target: (B, K, X, Y, Z) targets aligned with ``volume`` (the peer's logits).
        beta: ``lam ~ Beta(beta, beta)``.
        full_depth: See :func:`rand_boxes_3d`.
        rng: Random generator (global ``np.random`` / ``torch`` state if None).

    Returns:
        The mixed volume and target (new tensors).
    """
    if volume.shape[0] != target.shape[0] or volume.shape[2:] != target.shape[2:]:
        raise ValueError(f'volume {tuple(volume.shape)} and target {tuple(target.shape)} are not aligned')
    b = volume.shape[0]
    lam = rng.beta(beta, beta) if rng is not None else np.random.beta(beta, beta)
    perm = rng.permutation(b) if rng is not None else torch.randperm(b).numpy()
    boxes = rand_boxes_3d(tuple(volume.shape[2:]), b, float(lam), full_depth, rng)
    mixed_v, mixed_t = volume.clone(), target.clone()
    for i in range(b):
        (x0, x1), (y0, y1), (z0, z1) = boxes[i]
        j = int(perm[i])
        mixed_v[i, :, x0:x1, y0:y1, z0:z1] = volume[j, :, x0:x1, y0:y1, z0:z1]
        mixed_t[i, :, x0:x1, y0:y1, z0:z1] = target[j, :, x0:x1, y0:y1, z0:z1]
    return mixed_v, mixed_t
