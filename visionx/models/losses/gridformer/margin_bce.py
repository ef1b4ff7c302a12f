"""Margin binary cross-entropy of GridFormer's boundary-optimisation stage (Li et al., AAAI 2024).

``z' = z - m (2y - 1)`` then ``BCEWithLogits(z', y)``: occupied points pay ``softplus(m - z)`` and free points
``softplus(z + m)``, so logits are pushed beyond +-m instead of just past 0.  ``m = 0`` is plain BCE (stage 1).
The official code sums over the query points of a shape and averages over the batch; that is
``reduction='sum_mean'`` (the default here).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from visionx.registry import MODELS
from ..utils import BaseLoss, weight_reduce_loss

_REDUCTIONS = ('none', 'mean', 'sum', 'sum_mean')


def margin_bce_loss(logits: torch.Tensor, target: torch.Tensor, margin: float = 2.0,
                    weight: torch.Tensor | None = None, reduction: str = 'sum_mean',
                    avg_factor: float | None = None) -> torch.Tensor:
    """Margin BCE on occupancy logits.

    Args:
        logits: (B, N) occupancy logits z.
        target: (B, N) occupancies y in {0, 1} (float or bool).
        margin: m >= 0.
        weight: Optional (B, N) element weights.
        reduction: ``'sum_mean'`` (sum over points, mean over the batch; official), ``'mean'`` (over all
            elements), ``'sum'`` or ``'none'``.
        avg_factor: Divisor replacing the batch size (``'sum_mean'``) or the element count (``'mean'``).

    Returns:
        The reduced loss (scalar) or (B, N) with ``reduction='none'``.
    """
    if logits.shape != target.shape or logits.dim() != 2:
        raise ValueError(f'logits and target must both be (B, N); got {tuple(logits.shape)} and '
                         f'{tuple(target.shape)}')
    if margin < 0:
        raise ValueError(f'margin must be >= 0, got {margin}')
    if reduction not in _REDUCTIONS:
        raise ValueError(f'reduction must be one of {_REDUCTIONS}, got {reduction!r}')
    target = target.to(logits.dtype)
    loss = F.binary_cross_entropy_with_logits(logits - margin * (2 * target - 1), target, reduction='none')
    if reduction == 'sum_mean':  # per-shape sums, averaged over the batch (or divided by avg_factor)
        return weight_reduce_loss(weight_reduce_loss(loss, weight, 'none').sum(-1), None, 'mean', avg_factor)
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class MarginBCELoss(BaseLoss):
    """Registered wrapper of :func:`margin_bce_loss`, called as ``loss(logits, occupancy)`` with (B, N).

    Args:
        margin: m (2.0 for GridFormer's stage 2, 0 for stage 1's plain BCE).
        loss_weight: Scale of the loss.
        reduction: See :func:`margin_bce_loss`.
        loss_name: Key in the loss dict (must start with ``loss_``).
    """

    def __init__(self, margin: float = 2.0, loss_weight: float = 1.0, reduction: str = 'sum_mean',
                 loss_name: str = 'loss_occ') -> None:
        super().__init__(loss_weight, reduction, loss_name, reductions=_REDUCTIONS)
        self.margin = margin

    def forward(self, logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                avg_factor: float | None = None, reduction_override: str | None = None) -> torch.Tensor:
        reduction = reduction_override or self.reduction
        return self.loss_weight * margin_bce_loss(logits, target, self.margin, weight, reduction, avg_factor)
