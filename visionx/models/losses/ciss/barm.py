"""BARM's losses (Background Adaptation with Residual Modeling, ECCV 2024, arXiv 2407.09838).

Reference: METHODS.md part B §4.2; official ANDYZAQ/BARM ``trainer/trainer.py`` (``train_episode``) and
``utils/loss.py`` (``BCEWithLogitsLossWithIgnoreIndex``).  Mapping of the paper's names to the code's terms
is METHODS.md's (PB-BCE = the pseudo-labelled multi-label BCE with detached old logits; the background
adaptation losses = ``L_bga`` and ``L_tri``).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from visionx.registry import MODELS
from ..utils import BaseLoss

IGNORE_INDEX = 255


def multilabel_bce(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Multi-label BCE with a one-hot target: per pixel the sum over channels, mean over non-ignored pixels.

    Args:
        logits: (B, C, H, W).
        labels: (B, H, W) ids in ``0..C-1`` or ``ignore_index``.

    Returns:
        Scalar (official ``BCEWithLogitsLossWithIgnoreIndex(reduction='mean')``).
    """
    n = logits.shape[1]
    valid = labels != ignore_index
    target = F.one_hot(torch.where(valid, labels, torch.full_like(labels, n)).long(), n + 1)[..., :n]
    loss = F.binary_cross_entropy_with_logits(logits, target.permute(0, 3, 1, 2).to(logits.dtype),
                                              reduction='none').sum(1)
    return loss[valid].mean() if valid.any() else loss.sum() * 0


def pseudo_labels(prev_logits: torch.Tensor, labels: torch.Tensor, threshold: float = 0.7) -> torch.Tensor:
    """``argmax sigma(z_old)`` where the label is background, that class is not background and its sigmoid
    reaches ``threshold``; the label elsewhere.

    Args:
        prev_logits: (B, C_old, H, W) logits of the previous model (label resolution).
        labels: (B, H, W) current-step labels.
    """
    scores, classes = torch.sigmoid(prev_logits).max(dim=1)
    return torch.where((labels == 0) & (classes > 0) & (scores >= threshold), classes, labels)


def bga_loss(residual: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """``L_bga = sum_P BCE(r_T, 0) / (|P| + 1e-8)``: the current residual is pushed negative on new-class pixels.

    Args:
        residual: (B, 1, h, w) background-residual logit of the current step head.
        positive: (B, 1, h, w) float mask of the new-class pixels (feature resolution).
    """
    bce = F.binary_cross_entropy_with_logits(residual, torch.zeros_like(residual), reduction='none')
    return (bce * positive).sum() / (positive.sum() + 1e-8)


def tri_loss(residual: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """``L_tri = sum_N max(0, (s - 1)^2 - s^2) / |N|`` with ``s = sigma(r_T)``, i.e. ``max(0, 1 - 2 s)``:
    the residual stays non-negative on background pixels (official: no epsilon in the denominator).

    Args:
        residual: (B, 1, h, w).
        negative: (B, 1, h, w) float mask of the background pixels.
    """
    s = torch.sigmoid(residual)
    to_one = (s - 1) ** 2 * negative
    to_zero = s ** 2 * negative
    return torch.clamp(to_one - to_zero, min=0).sum() / negative.sum()


def bfd_loss(feats: Sequence[torch.Tensor], prev_feats: Sequence[torch.Tensor], negative: torch.Tensor
             ) -> torch.Tensor:
    """Background feature distillation: ``sum_i MSE(F_i * N, F_i^old * N)`` over ``F_0`` (``head_pre``) and the
    previous steps' ear features (mean over all elements, masked zeros included)."""
    return sum(F.mse_loss(f * negative, p * negative) for f, p in zip(feats, prev_feats))


def gkd_loss(heads: Sequence[torch.Tensor], prev_heads: Sequence[torch.Tensor]) -> torch.Tensor:
    """Group KD: ``sum_i sum_c mean_{b,h,w} BCE(h_i(x)_c, sigma(h_i^old(x)_c))`` over the previous step heads
    (residual channels included)."""
    return sum(F.binary_cross_entropy_with_logits(h, torch.sigmoid(p), reduction='none').mean(dim=(0, 2, 3)).sum()
               for h, p in zip(heads, prev_heads))


@MODELS.register_module()
class MultiLabelBCELoss(BaseLoss):
    """:func:`multilabel_bce` as a registered loss (BARM / SSUL main loss)."""

    def __init__(self, ignore_index: int = IGNORE_INDEX, loss_weight: float = 1.0,
                 loss_name: str = 'loss_bce') -> None:
        super().__init__(loss_weight, 'mean', loss_name, reductions=('mean',))
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, **kwargs) -> torch.Tensor:
        return self.loss_weight * multilabel_bce(logits, labels, self.ignore_index)
