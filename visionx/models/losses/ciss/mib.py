"""MiB's unbiased cross-entropy and unbiased knowledge distillation.

Reference: F. Cermelli et al., "Modeling the Background for Incremental Learning in Semantic Segmentation",
CVPR 2020 (MiB), Eq. 4 and 6; official code fcdl94/MiB ``utils/loss.py`` (``UnbiasedCrossEntropy``,
``UnbiasedKnowledgeDistillationLoss``).  METHODS.md part B §6.4.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from visionx.registry import MODELS
from ..utils import BaseLoss

IGNORE_INDEX = 255


def unbiased_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, num_old_classes: int,
                           ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Per-pixel unbiased CE: the background's probability is the sum over background and old classes.

    ``log p_bg = logsumexp(z[:num_old]) - logsumexp(z)``; ``log p_c = z_c - logsumexp(z)`` for new classes;
    labels of old classes (``< num_old``) count as background, as in the official code.  At step 0
    (``num_old_classes == 0``) it is the plain cross-entropy (MiB uses ``CrossEntropyLoss`` there).

    Args:
        logits: (B, C, H, W) current model logits, channels = old (background included) then new classes.
        labels: (B, H, W) int labels in ``0..C-1`` or ``ignore_index``.
        num_old_classes: old classes, background included.

    Returns:
        (B, H, W) loss, 0 on ignored pixels.
    """
    if num_old_classes == 0:
        return F.cross_entropy(logits, labels.long(), ignore_index=ignore_index, reduction='none')
    den = torch.logsumexp(logits, dim=1)
    log_bg = torch.logsumexp(logits[:, :num_old_classes], dim=1) - den
    log_new = logits[:, num_old_classes:] - den.unsqueeze(1)
    log_p = torch.cat([log_bg.unsqueeze(1), torch.zeros_like(logits[:, 1:num_old_classes]), log_new], dim=1)
    target = labels.clone()
    target[labels < num_old_classes] = 0
    return F.nll_loss(log_p, target.long(), ignore_index=ignore_index, reduction='none')


def unbiased_kd(logits: torch.Tensor, prev_logits: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Per-pixel unbiased KD: the old model's background matches background + new classes of the new model.

    ``L = -(1/C_old) * [q_bg * log(p_bg + sum_new p_c) + sum_{c=1}^{C_old-1} q_c log p_c]`` with ``q =
    softmax(alpha * z_old)``, ``p = softmax(z)``.

    Args:
        logits: (B, C, H, W) current logits (old channels first).
        prev_logits: (B, C_old, H, W) logits of the frozen previous model.
        alpha: temperature-like factor on the old logits (MiB ``--alpha``, default 1).

    Returns:
        (B, H, W) loss.
    """
    n_old = prev_logits.shape[1]
    den = torch.logsumexp(logits, dim=1)
    log_old_fg = logits[:, 1:n_old] - den.unsqueeze(1)
    log_bg = torch.logsumexp(torch.cat([logits[:, :1], logits[:, n_old:]], dim=1), dim=1) - den
    q = torch.softmax(prev_logits * alpha, dim=1)
    return -(q[:, 0] * log_bg + (q[:, 1:] * log_old_fg).sum(1)) / n_old


@MODELS.register_module()
class UnbiasedCrossEntropyLoss(BaseLoss):
    """MiB's unbiased cross-entropy (see :func:`unbiased_cross_entropy`); mean over non-ignored pixels.

    The number of old classes is given at call time by the incremental segmentor (it changes every step).
    """

    needs_old_classes = True

    def __init__(self, ignore_index: int = IGNORE_INDEX, loss_weight: float = 1.0, reduction: str = 'mean',
                 loss_name: str = 'loss_ce') -> None:
        super().__init__(loss_weight, reduction, loss_name)
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, num_old_classes: int) -> torch.Tensor:
        loss = unbiased_cross_entropy(logits, labels, num_old_classes, self.ignore_index)
        if self.reduction == 'mean':
            loss = loss.sum() / (labels != self.ignore_index).sum().clamp(min=1)
        elif self.reduction == 'sum':
            loss = loss.sum()
        return self.loss_weight * loss


@MODELS.register_module()
class UnbiasedKDLoss(BaseLoss):
    """MiB's unbiased knowledge distillation (see :func:`unbiased_kd`); mean over all pixels.

    Args:
        alpha: factor on the old logits (MiB default 1).
        loss_weight: MiB ``--loss_kd``: 10 (100 for VOC 15-1, fcdl94/MiB#22).
    """

    def __init__(self, alpha: float = 1.0, loss_weight: float = 10.0, reduction: str = 'mean',
                 loss_name: str = 'loss_kd') -> None:
        super().__init__(loss_weight, reduction, loss_name)
        self.alpha = alpha

    def forward(self, logits: torch.Tensor, prev_logits: torch.Tensor) -> torch.Tensor:
        loss = unbiased_kd(logits, prev_logits, self.alpha)
        if self.reduction == 'mean':
            loss = loss.mean()
        elif self.reduction == 'sum':
            loss = loss.sum()
        return self.loss_weight * loss
