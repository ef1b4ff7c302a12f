"""Label-smoothed cross-entropy of RePRI's base training (official ``src/train.py: compute_loss``).

The target puts ``1 − ε`` on the true class and ``ε / (C − 1)`` on each of the other ``C − 1`` classes
(not the ``ε / C`` everywhere of ``torch.nn.CrossEntropyLoss(label_smoothing=ε)``); ignored pixels are
left out and the loss is the mean over the remaining pixels.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from visionx.registry import MODELS

from ..utils import BaseLoss, weight_reduce_loss


def label_smoothed_cross_entropy(logits: torch.Tensor, target: torch.Tensor, epsilon: float = 0.1,
                                 ignore_index: int = 255) -> torch.Tensor:
    """Per-pixel ``−Σ_k q_k log softmax(z)_k`` with the smoothed target ``q``.

    Args:
        logits: (N, C, H, W) class scores.
        target: (N, H, W) class indices, ``ignore_index`` for ignored pixels.
        epsilon: smoothing mass ε moved from the true class to the others.
        ignore_index: label of ignored pixels (their loss is 0).

    Returns:
        (N, H, W) per-pixel losses.
    """
    num_classes = logits.shape[1]
    if num_classes < 2:
        raise ValueError(f'label smoothing needs at least 2 classes, got {num_classes}')
    valid = target != ignore_index
    index = torch.where(valid, target, torch.zeros_like(target))
    if (index >= num_classes).any() or (index < 0).any():
        bad = sorted(set(index[(index >= num_classes) | (index < 0)].unique().tolist()))
        raise ValueError(f'labels {bad} are outside [0, {num_classes - 1}] and not {ignore_index}')
    one_hot = F.one_hot(index, num_classes).permute(0, 3, 1, 2).to(logits.dtype)
    smoothed = one_hot * (1 - epsilon) + (1 - one_hot) * epsilon / (num_classes - 1)
    loss = -(smoothed * F.log_softmax(logits, dim=1)).sum(dim=1)
    return loss * valid.to(loss.dtype)


@MODELS.register_module()
class LabelSmoothedCrossEntropyLoss(BaseLoss):
    """Registered label-smoothed CE for mmseg decode heads (``loss_decode``).

    With ``reduction='mean'`` the loss is averaged over the non-ignored pixels, as the official
    ``masked_select(...).mean()``; a batch with no valid pixel gives 0 instead of the official NaN.

    Args:
        epsilon: smoothing ε (0.1 in RePRI).
        loss_weight: multiplier.
        reduction: ``'mean'`` (over valid pixels), ``'sum'`` or ``'none'``.
        loss_name: log key.
    """

    def __init__(self, epsilon: float = 0.1, loss_weight: float = 1.0, reduction: str = 'mean',
                 loss_name: str = 'loss_ce') -> None:
        super().__init__(loss_weight, reduction, loss_name)
        if not 0.0 <= epsilon < 1.0:
            raise ValueError(f'epsilon must be in [0, 1), got {epsilon}')
        self.epsilon = float(epsilon)

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None = None,
                avg_factor: float | None = None, reduction_override: str | None = None,
                ignore_index: int = 255, **kwargs) -> torch.Tensor:
        """Args: cls_score (N, C, H, W); label (N, H, W); weight optional (N, H, W) pixel weights.

        Returns:
            Scalar loss (``'mean'``/``'sum'``) or (N, H, W) (``'none'``).
        """
        reduction = reduction_override or self.reduction
        loss = label_smoothed_cross_entropy(cls_score, label, self.epsilon, ignore_index)
        if weight is not None:
            weight = weight.float()
        if reduction == 'mean' and avg_factor is None:
            avg_factor = (label != ignore_index).sum().item()
            if avg_factor == 0:
                return loss.sum() * 0.0
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction=reduction, avg_factor=avg_factor)
