"""TraCoCo losses: supervised CE + Dice, translation-consistency KL, the entropy regulariser and CBC.

Reference: Liu et al., "Translation Consistent Semi-supervised Segmentation for 3D Medical Images",
arXiv 2203.14523 (IEEE TMI); formulas as in ``docs/METHODS.md`` part B §2.3.  Each loss is a pure function
plus a thin registered module following mmseg conventions (``loss_weight``, ``loss_name``).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from visionx.registry import MODELS
from ..utils import BaseLoss

Box = Sequence[tuple[int, int]]  # ((x0, x1), (y0, y1), (z0, z1)) in a crop's local coordinates


def soft_dice_loss(prob: torch.Tensor, target: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Squared-denominator soft Dice loss over the whole mini-batch (V-Net form).

    ``1 - (2 Σ p y + eps) / (Σ p² + Σ y² + eps)``.

    Args:
        prob: Foreground probabilities, any shape, e.g. (B, X, Y, Z).
        target: Binary target of the same shape.
        eps: Smoothing constant (1e-5 in the official code).

    Returns:
        Scalar loss.
    """
    if prob.shape != target.shape:
        raise ValueError(f'prob {tuple(prob.shape)} and target {tuple(target.shape)} must match')
    target = target.float()
    inter = (prob * target).sum()
    return 1 - (2 * inter + eps) / ((prob * prob).sum() + (target * target).sum() + eps)


def ce_dice_loss(logits: torch.Tensor, target: torch.Tensor, fg_class: int = 1,
                 eps: float = 1e-5) -> torch.Tensor:
    """TraCoCo's supervised loss ``0.5 * (CE(z, y) + Dice(softmax(z)[:, fg], y == fg))``.

    Args:
        logits: (B, C, X, Y, Z) logits of the labelled samples.
        target: (B, X, Y, Z) integer labels.
        fg_class: Class whose probability enters the Dice term (1 for the binary tasks).
        eps: Dice smoothing.
    """
    if logits.dim() != target.dim() + 1:
        raise ValueError(f'logits (B, C, ...) {tuple(logits.shape)} and target (B, ...) '
                         f'{tuple(target.shape)} do not match')
    ce = F.cross_entropy(logits, target.long())
    dice = soft_dice_loss(logits.softmax(1)[:, fg_class], target == fg_class, eps)
    return 0.5 * (ce + dice)


def _cut(x: torch.Tensor, box: Box) -> torch.Tensor:
    (x0, x1), (y0, y1), (z0, z1) = box
    return x[:, x0:x1, y0:y1, z0:z1]


def overlap_logits(logits_main: torch.Tensor, logits_trans: torch.Tensor, boxes_main: Sequence[Box],
                   boxes_trans: Sequence[Box],
                   clamp_logits: bool = True) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Cut the overlap of the main and translated views out of each sample's logits.

    Args:
        logits_main: (B, C, X, Y, Z) logits of the main crops.
        logits_trans: (B, C, X, Y, Z) logits of the translated crops.
        boxes_main: Per sample, the overlap box in main-crop coordinates.
        boxes_trans: Per sample, the same region in translated-crop coordinates.
        clamp_logits: Reproduce the official quirk of clamping the *raw logits* to [1e-6, 1] before
            the softmax.  It bounds the logit gap to < 1, so the soft predictions in the overlap stay close
            to uniform; kept as the default for parity.

    Returns:
        A list of ``(a, b)`` pairs of shape (C, x, y, z) (samples with an empty overlap are skipped).
    """
    pairs = []
    for i in range(logits_main.shape[0]):
        a, b = _cut(logits_main[i], boxes_main[i]), _cut(logits_trans[i], boxes_trans[i])
        if a.shape != b.shape:
            raise ValueError(f'overlap boxes of sample {i} disagree: {tuple(a.shape)} vs {tuple(b.shape)}')
        if a.numel() == 0:
            continue
        if clamp_logits:
            a, b = a.clamp(1e-6, 1.0), b.clamp(1e-6, 1.0)
        pairs.append((a, b))
    return pairs


def translation_consistency_loss(pairs: Sequence[tuple[torch.Tensor, torch.Tensor]],
                                 reduction: str = 'sum') -> torch.Tensor:
    """Translation consistency ``KL(softmax(b) || softmax(a))`` over each overlap (Eq. of §2.3).

    The KL is taken element-wise, averaged over C × voxels of one overlap, and then summed over the
    samples (``reduction='sum'``, official) or averaged (``'mean'``).  Gradients reach both views.

    Args:
        pairs: ``(a, b)`` overlap logits of shape (C, x, y, z) from :func:`overlap_logits`.
        reduction: ``'sum'`` or ``'mean'`` over samples.
    """
    if reduction not in ('sum', 'mean'):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    if not pairs:
        return torch.zeros(())
    terms = torch.stack([F.kl_div(a.log_softmax(0), b.softmax(0), reduction='none').mean() for a, b in pairs])
    return terms.sum() if reduction == 'sum' else terms.mean()


def neg_entropy(pairs: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """The "saddle" regulariser ``mean_over_crops(mean_voxels Σ_c p_c log p_c)`` (= −entropy).

    Both crops of each pair count.  Minimising it raises the prediction entropy inside the overlap.
    """
    crops = [t for pair in pairs for t in pair]
    if not crops:
        return torch.zeros(())
    vals = [(c.softmax(0) * c.log_softmax(0)).sum(0).mean() for c in crops]
    return torch.stack(vals).mean()


def cbc_loss(logits: torch.Tensor, peer_logits: torch.Tensor, tau_pos: float = 0.65,
             tau_neg: float = 0.1) -> torch.Tensor:
    """Cross-model confident binary cross-entropy (CBC; "CRC" in the TMI version).

    With the peer's probabilities ``q = softmax(peer_logits)``, pseudo-label ``ŷ = argmax q``,
    ``q⁺ = max_c q`` and ``q⁻ = min_c q``:

    * positive: mean over voxels with ``q⁺ ≥ tau_pos`` of ``q⁺ · CE(z, ŷ)``;
    * negative: mean over voxels with ``q⁻ < tau_neg`` of ``q⁻ · −log(clamp(1 − p_{ȳ}, 1e-6))`` where
      ``p = softmax(z)`` and ``ȳ = argmin q`` (``1 − ŷ`` in the binary case);
    * each part is zero when its mask is empty.

    Args:
        logits: (B, C, X, Y, Z) logits of the trained network.
        peer_logits: (B, C, X, Y, Z) logits of the peer (treated as constants).
        tau_pos: Positive confidence threshold τ⁺ (0.65).
        tau_neg: Negative threshold τ⁻ (0.1).
    """
    if logits.shape != peer_logits.shape:
        raise ValueError(f'logits {tuple(logits.shape)} and peer logits {tuple(peer_logits.shape)} differ')
    q = peer_logits.detach().softmax(1)
    q_pos, y_hat = q.max(1)
    q_neg, y_bar = q.min(1)
    loss = logits.new_zeros(())
    pos_mask = q_pos >= tau_pos
    if pos_mask.any():
        ce = F.cross_entropy(logits, y_hat, reduction='none')
        loss = loss + (q_pos * ce)[pos_mask].mean()
    neg_mask = q_neg < tau_neg
    if neg_mask.any():
        inv = (1 - logits.softmax(1)).clamp(1e-6, 1.0)
        nll = -inv.log().gather(1, y_bar.unsqueeze(1)).squeeze(1)
        loss = loss + (q_neg * nll)[neg_mask].mean()
    return loss


@MODELS.register_module()
class TraCoCoSupLoss(BaseLoss):
    """Registered wrapper of :func:`ce_dice_loss` (TraCoCo's supervised loss).

    Args:
        fg_class: Foreground class of the Dice term.
        eps: Dice smoothing.
        loss_weight: Multiplier.
        loss_name: Log key (must start with ``loss_``).
    """

    def __init__(self, fg_class: int = 1, eps: float = 1e-5, loss_weight: float = 1.0,
                 loss_name: str = 'loss_sup') -> None:
        super().__init__(loss_weight, 'mean', loss_name, reductions=('mean',))
        self.fg_class, self.eps = fg_class, eps

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * ce_dice_loss(logits, target, self.fg_class, self.eps)


@MODELS.register_module()
class TranslationConsistencyLoss(BaseLoss):
    """Registered wrapper of :func:`translation_consistency_loss` on the overlap of two views.

    Args:
        clamp_logits: Official logit clamp to [1e-6, 1] before the softmax (see :func:`overlap_logits`).
        reduction: ``'sum'`` (official) or ``'mean'`` over samples.
        loss_weight: ``spatial_weight`` (0.3 LA / BraTS, 1.0 Pancreas).
        loss_name: Log key.
    """

    def __init__(self, clamp_logits: bool = True, reduction: str = 'sum', loss_weight: float = 0.3,
                 loss_name: str = 'loss_trans') -> None:
        super().__init__(loss_weight, reduction, loss_name, reductions=('sum', 'mean'))
        self.clamp_logits = clamp_logits

    def forward(self, logits_main: torch.Tensor, logits_trans: torch.Tensor, boxes_main: Sequence[Box],
                boxes_trans: Sequence[Box]) -> torch.Tensor:
        pairs = overlap_logits(logits_main, logits_trans, boxes_main, boxes_trans, self.clamp_logits)
        return self.loss_weight * translation_consistency_loss(pairs, self.reduction).to(logits_main)


@MODELS.register_module()
class OverlapNegEntropyLoss(BaseLoss):
    """Registered wrapper of :func:`neg_entropy` on the overlap of two views (TraCoCo's regulariser ``hyp · R``).

    Its value is <= 0; minimising it raises the prediction entropy inside the overlap.

    Args:
        clamp_logits: Official logit clamp to [1e-6, 1] before the softmax (see :func:`overlap_logits`).
        loss_weight: ``hyp`` (0.1 LA / Pancreas, 0.05 BraTS).
        loss_name: Log key (must start with ``loss_`` so that the term is optimised).
    """

    def __init__(self, clamp_logits: bool = True, loss_weight: float = 0.1,
                 loss_name: str = 'loss_negent') -> None:
        super().__init__(loss_weight, 'mean', loss_name, reductions=('mean',))
        self.clamp_logits = clamp_logits

    def forward(self, logits_main: torch.Tensor, logits_trans: torch.Tensor, boxes_main: Sequence[Box],
                boxes_trans: Sequence[Box]) -> torch.Tensor:
        """Weighted ``R`` of (B, C, X, Y, Z) logits of both views over the per-sample overlap boxes."""
        pairs = overlap_logits(logits_main, logits_trans, boxes_main, boxes_trans, self.clamp_logits)
        return self.loss_weight * neg_entropy(pairs).to(logits_main)


@MODELS.register_module()
class CBCLoss(BaseLoss):
    """Registered wrapper of :func:`cbc_loss` (cross-model confident BCE, τ⁺ = 0.65, τ⁻ = 0.1).

    Args:
        tau_pos: Positive confidence threshold.
        tau_neg: Negative confidence threshold.
        loss_weight: Multiplier.
        loss_name: Log key.
    """

    def __init__(self, tau_pos: float = 0.65, tau_neg: float = 0.1, loss_weight: float = 1.0,
                 loss_name: str = 'loss_cbc') -> None:
        super().__init__(loss_weight, 'mean', loss_name, reductions=('mean',))
        if not 0 <= tau_neg <= tau_pos <= 1:
            raise ValueError(f'need 0 <= tau_neg <= tau_pos <= 1, got {tau_neg}, {tau_pos}')
        self.tau_pos, self.tau_neg = tau_pos, tau_neg

    def forward(self, logits: torch.Tensor, peer_logits: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * cbc_loss(logits, peer_logits, self.tau_pos, self.tau_neg)
