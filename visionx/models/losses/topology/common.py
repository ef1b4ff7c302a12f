"""Shared pieces of the TopoMortar topology losses: input normalisation, Dice/CE terms, soft and
tubed skeletons, distance maps and the training-schedule gate (simple points and thinning live in
:mod:`.digital`).

Reference: J. M. Valverde et al., "TopoMortar: A dataset to evaluate image segmentation methods focused on
topology accuracy", BMVC 2025 (arXiv 2503.03365).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy import ndimage

from visionx.utils.progress import PROGRESS_KEY, training_progress  # noqa: F401  (re-exported)
from visionx.utils.topology import tubed_skeleton  # noqa: F401  (re-exported for the losses)

from ..utils import BaseLoss
from .digital import topological_skeleton  # noqa: F401  (re-exported for the losses)

# -- input normalisation ---------------------------------------------------------------------------


def log_probs_of(logits: torch.Tensor) -> torch.Tensor:
    """Per-class log-probabilities of logits.

    Args:
        logits: (B, C, *spatial).  ``C >= 2`` uses softmax; ``C == 1`` uses a sigmoid and returns the
            two-class form ``[log(1 - s), log(s)]``.

    Returns:
        (B, max(C, 2), *spatial) log-probabilities.
    """
    if logits.dim() not in (4, 5):
        raise ValueError(f'logits must be (B, C, H, W) or (B, C, D, H, W), got shape {tuple(logits.shape)}')
    if logits.shape[1] == 1:
        return torch.cat([F.logsigmoid(-logits), F.logsigmoid(logits)], dim=1)
    return F.log_softmax(logits.float(), dim=1)


def prepare(logits: torch.Tensor, target: torch.Tensor, ignore_index: int | None = 255
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normalise a (logits, target) pair to (log-probs, probs, one-hot target, valid mask).

    Args:
        logits: (B, C, *spatial) raw scores.
        target: integer labels (B, *spatial) or soft labels (B, C, *spatial) (``C == 1`` soft labels give
            the foreground probability).
        ignore_index: label value excluded from every term (integer labels only).

    Returns:
        ``log_p`` and ``p`` of shape (B, K, *spatial) with K = max(C, 2), the float one-hot/soft target
        (B, K, *spatial) with ignored pixels set to 0, and the valid mask (B, 1, *spatial).
    """
    log_p = log_probs_of(logits)
    p = log_p.exp()
    num_classes = p.shape[1]
    spatial = logits.shape[2:]
    if target.dim() == logits.dim():
        if tuple(target.shape[2:]) != tuple(spatial) or target.shape[0] != logits.shape[0]:
            raise ValueError(f'soft target shape {tuple(target.shape)} does not match logits {tuple(logits.shape)}')
        y = target.float()
        if y.shape[1] == 1 and num_classes == 2:
            y = torch.cat([1 - y, y], dim=1)
        if y.shape[1] != num_classes:
            raise ValueError(f'soft target has {target.shape[1]} channels, logits imply {num_classes}')
        valid = torch.ones_like(y[:, :1])
    elif target.dim() == logits.dim() - 1:
        if tuple(target.shape[1:]) != tuple(spatial) or target.shape[0] != logits.shape[0]:
            raise ValueError(f'label shape {tuple(target.shape)} does not match logits {tuple(logits.shape)}')
        target = target.long()
        valid_b = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
        t = torch.where(valid_b, target, torch.zeros_like(target))
        if t.numel() and (t.min() < 0 or t.max() >= num_classes):
            raise ValueError(f'labels must lie in [0, {num_classes - 1}] (or be ignore_index={ignore_index}); '
                             f'got values in [{int(t.min())}, {int(t.max())}]. TopoMortar masks store 255 for '
                             'mortar: map them to 1 with the dataset\'s label_map={255: 1} (TopoMortarDataset does this).')
        y = F.one_hot(t, num_classes).movedim(-1, 1).float()
        valid = valid_b.unsqueeze(1).float()
        y = y * valid
    else:
        raise ValueError(f'target must be (B, *spatial) labels or (B, C, *spatial) soft labels, '
                         f'got {tuple(target.shape)} for logits {tuple(logits.shape)}')
    return log_p, p, y, valid


def hard_labels(y: torch.Tensor) -> torch.Tensor:
    """Arg-max of a (soft) one-hot target (B, K, *spatial) as a one-hot bool tensor."""
    return F.one_hot(y.argmax(1), y.shape[1]).movedim(-1, 1).bool() & (y.sum(1, keepdim=True) > 0)


# -- the two basic terms ---------------------------------------------------------------------------


def dice_term(p: torch.Tensor, y: torch.Tensor, valid: torch.Tensor, smooth: float = 1e-5) -> torch.Tensor:
    """Soft Dice loss over every class, per image and class, then averaged.

    ``1 - mean_{b,c} (2 sum p y + s) / (sum y + sum p + s)``.  TopoMortar returns ``-mean(...)``; the
    constant 1 only shifts the value (same gradients) and keeps the loss non-negative.

    Args:
        p: (B, K, *spatial) probabilities.
        y: (B, K, *spatial) one-hot or soft target.
        valid: (B, 1, *spatial) mask of pixels that count.
    """
    dims = tuple(range(2, p.dim()))
    p = p * valid
    inter = (p * y).sum(dims)
    dice = (2 * inter + smooth) / (y.sum(dims) + p.sum(dims) + smooth)
    return 1 - dice.mean()


def ce_term(log_p: torch.Tensor, y: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Cross-entropy ``-mean over valid pixels of sum_c y_c log p_c`` (soft labels allowed).

    TopoMortar uses ``log(p + 1e-15)``; log-softmax is the same value without the underflow clamp.
    """
    per_pixel = -(y * log_p).sum(1, keepdim=True)
    return (per_pixel * valid).sum() / valid.sum().clamp_min(1)


# -- soft skeleton (clDice) ------------------------------------------------------------------------


def soft_erode(x: torch.Tensor) -> torch.Tensor:
    """Soft erosion: minimum over the axis-aligned 3-pixel crosses (2D: 3x1 and 1x3; 3D: three axes)."""
    if x.dim() == 4:
        a = -F.max_pool2d(-x, (3, 1), 1, (1, 0))
        b = -F.max_pool2d(-x, (1, 3), 1, (0, 1))
        return torch.minimum(a, b)
    a = -F.max_pool3d(-x, (3, 1, 1), 1, (1, 0, 0))
    b = -F.max_pool3d(-x, (1, 3, 1), 1, (0, 1, 0))
    c = -F.max_pool3d(-x, (1, 1, 3), 1, (0, 0, 1))
    return torch.minimum(torch.minimum(a, b), c)


def soft_dilate(x: torch.Tensor) -> torch.Tensor:
    """Soft dilation: 3x3 (3x3x3) max-pool."""
    if x.dim() == 4:
        return F.max_pool2d(x, 3, 1, 1)
    return F.max_pool3d(x, 3, 1, 1)


def soft_skeleton(x: torch.Tensor, iterations: int = 3) -> torch.Tensor:
    """Differentiable soft skeleton of Shit et al. (CVPR 2021), Alg. 1.

    Args:
        x: (B, K, H, W) or (B, K, D, H, W) values in [0, 1].
        iterations: number of erosion steps after the first opening (TopoMortar: 3).
    """
    skel = F.relu(x - soft_dilate(soft_erode(x)))
    for _ in range(iterations):
        x = soft_erode(x)
        delta = F.relu(x - soft_dilate(soft_erode(x)))
        skel = skel + F.relu(delta - skel * delta)
    return skel


# -- binary skeletons and distance maps (no gradient, CPU) -----------------------------------------


def edt(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance of every foreground pixel to the nearest background pixel (0 outside).

    A mask without any background pixel has no finite distance; it is measured to the image border
    instead (the mask is padded by one background pixel), which keeps the maps finite.
    """
    mask = np.asarray(mask) > 0
    if not mask.any():
        return np.zeros(mask.shape, np.float32)
    if mask.all():
        padded = np.pad(mask, 1, constant_values=False)
        return ndimage.distance_transform_edt(padded)[(slice(1, -1),) * mask.ndim].astype(np.float32)
    return ndimage.distance_transform_edt(mask).astype(np.float32)


# -- schedule gate ---------------------------------------------------------------------------------


def gate_open(start_fraction: float, gate: bool | None) -> bool:
    """Whether a scheduled topology term is on.

    Args:
        start_fraction: the term switches on once ``progress > start_fraction`` (TopoMortar: 0.7, i.e.
            ``it > 0.7 * iterations``).
        gate: explicit override (the deep-supervision segmentor passes ``False`` for auxiliary outputs);
            ``None`` reads the schedule.  Outside a runner (no iteration known) the term is on.
    """
    if gate is not None:
        return bool(gate)
    if start_fraction <= 0:
        return True
    progress = training_progress()
    return True if progress is None else progress > start_fraction


# -- registered-module base ------------------------------------------------------------------------


class TopologyLossBase(BaseLoss):
    """Common mmseg loss plumbing: ``loss_weight``, ``loss_name``, ``reduction``, ``ignore_index``.

    The TopoMortar losses are defined on the whole batch (clDice and cbDice sum over it), so they return
    one scalar; ``reduction`` must be ``'mean'`` and ``avg_factor``/pixel ``weight`` are rejected rather
    than silently ignored.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_topo', reduction: str = 'mean',
                 ignore_index: int | None = 255) -> None:
        # defined on the batch: 'mean' is the only reduction
        super().__init__(loss_weight, reduction, loss_name, reductions=('mean',))
        self.ignore_index = ignore_index

    def _check(self, weight, avg_factor, reduction_override) -> None:
        if weight is not None:
            raise ValueError(f'{type(self).__name__} does not support pixel weights')
        if avg_factor is not None:
            raise ValueError(f'{type(self).__name__} is averaged on the batch; avg_factor is not supported')
        if reduction_override not in (None, 'mean'):
            raise ValueError(f"reduction_override must be None or 'mean', got {reduction_override!r}")

    def _ignore(self, ignore_index) -> int | None:
        return self.ignore_index if ignore_index is None else ignore_index

    def _label_cached(self, target: torch.Tensor, compute):
        """Reuse label-derived maps while the same, unmodified ``target`` tensor is passed again.

        Deep supervision calls the loss once per output with one label tensor; maps that depend on the
        label only (skeletons, distance maps) are then computed once per step instead of once per output.
        The cache holds a reference to ``target``, so its identity cannot be recycled while cached.
        """
        cached = getattr(self, '_cache', None)
        if cached is not None and cached[0] is target and cached[1] == target._version:
            return cached[2]
        value = compute()
        self._cache = (target, target._version, value)
        return value
