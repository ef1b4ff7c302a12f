"""BACS's losses (Background Aware Continual Semantic Segmentation, arXiv 2404.13148).

Reference: METHODS.md part B §5.1 (detector training) and §5.2 (loss formulas); official code
mostafaelaraby/BACS-Continual-Semantic-Segmentation ``loss/bacs_loss.py`` (``BACSLoss``), ``loss/base_loss.py``
(``compute_base_loss``, ``_compute_seen_fg_loss``), ``training/loss_utils.py`` (``WeightedCrossEntropy``) and
``networks/bg_detector.py``; defaults from ``conf/experiments/loss/bacs_plus.yaml``.

Five terms, each a functional core plus a thin registered module:

* :func:`binary_focal_loss` / :class:`BinaryFocalLoss` - trains the background-shift detector;
  :func:`detector_loss_decay` is its epoch weight (the segmentor multiplies by it);
* :func:`bg_aware_cross_entropy` / :class:`BgAwareCrossEntropyLoss` - the background-shift aware CE (§5.2.1);
* :func:`masked_feature_kd` / :class:`MaskedFeatureKDLoss` - the masked feature distillation (§5.2.2);
* :func:`der_logit_loss` / :class:`DERLogitLoss` - Dark Experience Replay on stored logits (§5.2.3, weight α);
* :func:`der_label_loss` / :class:`DERLabelLoss` - DER++ CE on stored labels (§5.2.3, weight β).

Total at steps >= 1 (§5.2.4): ``L = L_ce + L_kd + α L_DER + β L_DER++ + decay(epoch) L_focal``; the official code
has no separate λ_det (the focal term's only factor is :func:`detector_loss_decay`).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F

from visionx.registry import MODELS
from visionx.utils.errors import ConfigError
from ..utils import BaseLoss, weight_reduce_loss
from .mib import unbiased_cross_entropy

IGNORE_INDEX = 255

__all__ = ['detector_loss_decay', 'binary_focal_loss', 'bg_aware_cross_entropy', 'masked_feature_kd',
           'der_logit_loss', 'der_label_loss', 'BinaryFocalLoss', 'BgAwareCrossEntropyLoss', 'MaskedFeatureKDLoss',
           'DERLogitLoss', 'DERLabelLoss']


# argument checks ----------------------------------------------------------------------------------------------
def _check_gamma(owner: str, gamma: float) -> float:
    if not isinstance(gamma, (int, float)) or isinstance(gamma, bool) or gamma < 0:
        raise ConfigError(f'{owner}: gamma must be a number >= 0, got {gamma!r}')
    return float(gamma)


def _check_threshold(owner: str, threshold: float) -> float:
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0 <= threshold <= 1:
        raise ConfigError(f'{owner}: threshold must be a probability in [0, 1], got {threshold!r}')
    return float(threshold)


def _check_labels(owner: str, labels: torch.Tensor, batch: int, size: Optional[Sequence[int]] = None) -> None:
    if labels.dim() != 3 or labels.shape[0] != batch or (size is not None and tuple(labels.shape[-2:]) != tuple(size)):
        want = f'({batch}, H, W)' if size is None else f'({batch}, {size[0]}, {size[1]})'
        raise ValueError(f'{owner}: labels must have shape {want}, got {tuple(labels.shape)}')


def _seen_map(owner: str, seen: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(B, H, W) or per-task (B, T, H, W) seen probabilities -> (B, H, W) max over tasks, detached."""
    if seen.dim() == 4:
        seen = seen.max(dim=1)[0]
    if seen.shape != labels.shape:
        raise ValueError(f'{owner}: seen must have shape (B, H, W) or (B, T, H, W) matching labels '
                         f'{tuple(labels.shape)}, got {tuple(seen.shape)}')
    return seen.detach()


def _check_num_old(owner: str, num_old_classes: int, num_classes: int, minimum: int) -> int:
    if isinstance(num_old_classes, bool) or not isinstance(num_old_classes, int) or \
            not minimum <= num_old_classes <= num_classes:
        raise ValueError(f'{owner}: num_old_classes (background included) must be an int in '
                         f'[{minimum}, {num_classes}] for {num_classes}-channel logits, got {num_old_classes!r}')
    return num_old_classes


# 1. detector --------------------------------------------------------------------------------------------------
def detector_loss_decay(epoch: Union[int, float], max_epochs: Union[int, float]) -> float:
    """Weight of the detector's focal loss: ``max(0, 1 - exp(epoch - max_epochs))``.

    Official ``compute_base_loss``: ``epoch`` is Lightning's 0-based ``current_epoch`` and ``max_epochs`` the
    trainer's (``global_step`` / ``max_steps`` when no epoch limit is set), so the weight is ~1 for most of the
    step and ``1 - 1/e`` (0.632) in the last epoch; it reaches 0 only at ``epoch >= max_epochs``.

    Args:
        epoch: current (0-based) epoch or iteration.
        max_epochs: number of epochs (or iterations) of the step, > 0.
    """
    if isinstance(max_epochs, bool) or not isinstance(max_epochs, (int, float)) or max_epochs <= 0:
        raise ConfigError(f'detector_loss_decay: max_epochs must be a number > 0, got {max_epochs!r}')
    if isinstance(epoch, bool) or not isinstance(epoch, (int, float)) or epoch < 0:
        raise ValueError(f'detector_loss_decay: epoch must be a number >= 0, got {epoch!r}')
    return max(0.0, 1.0 - math.exp(epoch - max_epochs))


def binary_focal_loss(seen_logits: torch.Tensor, labels: torch.Tensor, gamma: float = 2.0,
                      ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Per-pixel binary focal loss of the seen-logit map: target 1 on labelled foreground, 0 on background.

    ``ℓ = (1 - p_t)^γ · BCE(z, t)`` with ``p_t = exp(-BCE(z, t))`` and no α balancing (official
    ``segmentation_models_pytorch`` ``FocalLoss(mode='binary', alpha=None, gamma=2)``; ``seen_focal_alpha`` is
    unset in every config).

    Args:
        seen_logits: (B, 1, H, W) or (B, H, W) raw logits of one task head of the detector.
        labels: (B, H, W) labels; 0 background, ``1..`` foreground, ``ignore_index`` ignored.
        gamma: focusing exponent.
        ignore_index: label excluded from the loss.

    Returns:
        (B, H, W) loss, 0 on ignored pixels.
    """
    if seen_logits.dim() == 4 and seen_logits.shape[1] == 1:
        seen_logits = seen_logits[:, 0]
    if seen_logits.dim() != 3:
        raise ValueError(f'binary_focal_loss: seen_logits must be (B, 1, H, W) or (B, H, W), '
                         f'got {tuple(seen_logits.shape)}')
    _check_labels('binary_focal_loss', labels, seen_logits.shape[0], seen_logits.shape[-2:])
    valid = labels != ignore_index
    target = ((labels != 0) & valid).to(seen_logits.dtype)
    bce = F.binary_cross_entropy_with_logits(seen_logits, target, reduction='none')
    loss = (1 - torch.exp(-bce)).pow(gamma) * bce
    return loss * valid


@MODELS.register_module()
class BinaryFocalLoss(BaseLoss):
    """Binary focal loss training BACS's background-shift detector (METHODS.md B§5.1).

    Official ``_compute_seen_fg_loss`` with ``FocalLoss(mode='binary', ignore_index=255, gamma=2, alpha=None,
    reduction='mean')``: the mean runs over the non-ignored pixels (ignored pixels are dropped before the mean).
    The segmentor multiplies the result by :func:`detector_loss_decay` and trains only on current-step batches.

    Quirk reproduced: a batch without any background pixel (label 0) gives 0 (the official code skips it).
    Deviation: a batch whose pixels are all ignored gives 0 instead of the official NaN (mean of nothing).

    Args:
        gamma: focusing exponent (official 2).
        loss_weight: multiplier (official 1: there is no separate detector weight).
        reduction: ``'mean'`` (over non-ignored pixels), ``'sum'`` or ``'none'`` ((B, H, W) map).
        loss_name: key in the loss dict.
    """

    def __init__(self, gamma: float = 2.0, loss_weight: float = 1.0, reduction: str = 'mean',
                 loss_name: str = 'loss_det') -> None:
        super().__init__(loss_weight, reduction, loss_name)
        self.gamma = _check_gamma(type(self).__name__, gamma)

    def forward(self, seen_logits: torch.Tensor, labels: torch.Tensor,
                ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
        loss = binary_focal_loss(seen_logits, labels, self.gamma, ignore_index)
        if not (labels == 0).any():
            loss = loss * 0
        valid = (labels != ignore_index).sum()
        loss = weight_reduce_loss(loss, reduction=self.reduction,
                                  avg_factor=valid if self.reduction == 'mean' else None)
        return self.loss_weight * loss


# 2. background-shift aware CE ---------------------------------------------------------------------------------
def bg_aware_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, num_old_classes: int,
                           seen: Optional[torch.Tensor] = None, gamma: float = 2.0, threshold: float = 0.5,
                           ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Per-pixel background-shift aware CE (METHODS.md B§5.2.1, official ``WeightedCrossEntropy``).

    ``ℓ = (1 - w)^γ ℓ_bf + ℓ_new`` where

    * ``ℓ_bf = -log p_0`` on background (y = 0) and ``-log Σ_{c>=1} p_c`` on foreground;
    * ``w = 0`` on foreground and ``w = s`` on background, with ``s`` set to 1 where ``s > threshold``: a
      background pixel the detector calls previously seen drops its bg-vs-fg term entirely, the others are
      down-weighted by ``(1 - s)^γ``;
    * ``ℓ_new`` = MiB's unbiased CE (:func:`~visionx.models.losses.ciss.mib.unbiased_cross_entropy`: labels
      ``< num_old_classes`` -> 0, channel 0 = ``log Σ_{c<old} p_c``), never modulated.

    At ``num_old_classes == 0`` (step 0) it is the plain cross-entropy.

    Args:
        logits: (B, C, H, W) current logits at label resolution.
        labels: (B, H, W) labels in ``0..C-1`` or ``ignore_index``.
        num_old_classes: classes before this step, background included (0 at step 0).
        seen: (B, H, W) detector probabilities ``s`` (or per-task (B, T, H, W): max over T as official);
            detached. ``None`` -> ``w = 0`` everywhere.
        gamma: exponent of the modulation (official ``seen_gamma`` 2).
        threshold: ``s`` above it counts as 1 (official ``seen_threshold`` 0.5).
        ignore_index: ignored label.

    Returns:
        (B, H, W) loss, 0 on ignored pixels.
    """
    owner = 'bg_aware_cross_entropy'
    if logits.dim() != 4:
        raise ValueError(f'{owner}: logits must be (B, C, H, W), got {tuple(logits.shape)}')
    _check_labels(owner, labels, logits.shape[0], logits.shape[-2:])
    _check_num_old(owner, num_old_classes, logits.shape[1], 0)
    labels = labels.long()
    if num_old_classes == 0:
        return F.cross_entropy(logits, labels, ignore_index=ignore_index, reduction='none')
    background = labels == 0
    if seen is None:
        w = torch.zeros_like(logits[:, 0])
    else:
        s = _seen_map(owner, seen, labels).to(logits.dtype)
        w = torch.where(s > threshold, torch.ones_like(s), s) * background
    den = torch.logsumexp(logits, dim=1)
    log_bg = logits[:, 0] - den
    log_fg = torch.logsumexp(logits[:, 1:], dim=1) - den
    valid = labels != ignore_index
    bg_fg = -torch.where(background, log_bg, log_fg) * valid
    new_vs_rest = unbiased_cross_entropy(logits, labels, num_old_classes, ignore_index)
    return (1 - w).pow(gamma) * bg_fg + new_vs_rest


@MODELS.register_module()
class BgAwareCrossEntropyLoss(BaseLoss):
    """BACS's background-shift aware CE (see :func:`bg_aware_cross_entropy`); METHODS.md B§5.2.1.

    Reduction as official: at steps >= 1 the ``'mean'`` divides by **all** pixels (B·H·W; ignored pixels add 0
    but are counted: ``(loss_bg_fg + loss_new_vs_rest).mean()`` in ``WeightedCrossEntropy``); at step 0
    (``num_old_classes == 0``) it is ``F.cross_entropy``'s mean over the non-ignored pixels.

    Deviation: ``seen=None`` at steps >= 1 gives ``w = 0`` (the bg-aware CE without modulation); the official
    code switches to the plain CE when ``bg_weighted_ce`` is off. The official ``seen_ukd=False`` variant (no
    unbiased background channel) is not provided (every config uses ``seen_ukd: true``).

    Args:
        gamma: modulation exponent (official ``seen_gamma`` 2).
        threshold: detector probability above which a background pixel is fully ignored (``seen_threshold``
            0.5).
        loss_weight: multiplier.
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` ((B, H, W) map).
        loss_name: key in the loss dict.
    """

    needs_old_classes = True

    def __init__(self, gamma: float = 2.0, threshold: float = 0.5, loss_weight: float = 1.0,
                 reduction: str = 'mean', loss_name: str = 'loss_ce') -> None:
        super().__init__(loss_weight, reduction, loss_name)
        self.gamma = _check_gamma(type(self).__name__, gamma)
        self.threshold = _check_threshold(type(self).__name__, threshold)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, num_old_classes: int,
                seen: Optional[torch.Tensor] = None, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
        loss = bg_aware_cross_entropy(logits, labels, num_old_classes, seen, self.gamma, self.threshold,
                                      ignore_index)
        avg_factor = None
        if num_old_classes == 0 and self.reduction == 'mean':
            avg_factor = (labels != ignore_index).sum()
        return self.loss_weight * weight_reduce_loss(loss, reduction=self.reduction, avg_factor=avg_factor)


# 3. masked feature distillation -------------------------------------------------------------------------------
def masked_feature_kd(feat_new: torch.Tensor, feat_old: torch.Tensor, labels: torch.Tensor,
                      seen: Optional[torch.Tensor] = None, threshold: float = 0.5,
                      squared: bool = True) -> torch.Tensor:
    """Row norms of the masked feature difference (METHODS.md B§5.2.2, official ``_teacher_distill``).

    Both features are upsampled (bilinear, ``align_corners=False`` as official) to the label size and set to 0
    outside ``M = [y = 0] ∧ [s > threshold]``; with ``squared`` (official) they are squared element-wise; the
    result is the L2 norm of ``F_old - F_new`` along the **last (width) axis** - the official
    ``torch.frobenius_norm(..., dim=-1)`` quirk, reproduced.

    Args:
        feat_new: (B, C, h, w) current features (last ``attentions`` entry: the DeepLab head's 256-ch output or
            the TranSeg decoded patch embeddings).
        feat_old: (B, C, h, w) features of the frozen previous model; detached here.
        labels: (B, H, W) labels.
        seen: (B, H, W) detector probabilities (or (B, T, H, W), max over T); ``None`` -> ``M = [y = 0]``
            (official behaviour when the bg-weighted CE is off and no seen map is computed).
        threshold: official ``lkd_threshold`` 0.5.
        squared: official squared-feature form; ``False`` gives ``‖F_old⊙M - F_new⊙M‖`` along the same axis.

    Returns:
        (B, C, H) norms; the official loss is their mean.
    """
    owner = 'masked_feature_kd'
    if feat_new.dim() != 4 or feat_new.shape != feat_old.shape:
        raise ValueError(f'{owner}: feat_new and feat_old must be (B, C, h, w) of one shape, got '
                         f'{tuple(feat_new.shape)} and {tuple(feat_old.shape)}')
    _check_labels(owner, labels, feat_new.shape[0])
    mask = labels == 0
    if seen is not None:
        mask = mask & (_seen_map(owner, seen, labels) > threshold)
    mask = mask.unsqueeze(1)

    def masked(feat: torch.Tensor) -> torch.Tensor:
        if feat.shape[-2:] != labels.shape[-2:]:
            feat = F.interpolate(feat, size=labels.shape[-2:], mode='bilinear', align_corners=False)
        feat = torch.where(mask, feat, torch.zeros_like(feat))
        return feat.pow(2) if squared else feat

    return torch.linalg.vector_norm(masked(feat_old.detach()) - masked(feat_new), dim=-1)


@MODELS.register_module()
class MaskedFeatureKDLoss(BaseLoss):
    """BACS's masked feature distillation (see :func:`masked_feature_kd`); METHODS.md B§5.2.2.

    ``L_kd = loss_weight · mean_{b,c,h} ‖(F_old⊙M)² - (F_new⊙M)²‖_{2, over w}``: the mean runs over every
    (b, c, h) row, masked or not (official ``.mean()``). Quirks reproduced: element-wise squared features and
    the norm along the width axis only (with ``squared=True``, the default).

    Args:
        threshold: official ``lkd_threshold`` 0.5.
        squared: ``True`` official squared form; ``False`` the plain masked difference.
        loss_weight: official ``lkd`` 0.25.
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` ((B, C, H) norms).
        loss_name: key in the loss dict.
    """

    def __init__(self, threshold: float = 0.5, squared: bool = True, loss_weight: float = 0.25,
                 reduction: str = 'mean', loss_name: str = 'loss_kd') -> None:
        super().__init__(loss_weight, reduction, loss_name)
        self.threshold = _check_threshold(type(self).__name__, threshold)
        if not isinstance(squared, bool):
            raise ConfigError(f'{type(self).__name__}: squared must be True or False, got {squared!r}')
        self.squared = squared

    def forward(self, feat_new: torch.Tensor, feat_old: torch.Tensor, labels: torch.Tensor,
                seen: Optional[torch.Tensor] = None) -> torch.Tensor:
        loss = masked_feature_kd(feat_new, feat_old, labels, seen, self.threshold, self.squared)
        return self.loss_weight * weight_reduce_loss(loss, reduction=self.reduction)


# 4. Dark Experience Replay (logits) ---------------------------------------------------------------------------
def der_logit_loss(cur_logits: torch.Tensor, mem_logits: torch.Tensor,
                   mem_num_classes: Union[torch.Tensor, Sequence[int]], ignore_bg: bool = True) -> torch.Tensor:
    """Element-wise squared error between current and stored logits on replayed images (METHODS.md B§5.2.3).

    The target is the stored logits where they exist; channels ``c >= mem_num_classes[b]`` (classes added after
    sample b was stored) and, with ``ignore_bg``, the background channel are replaced by the current detached
    values, so they contribute 0 (official ``_dark_logits`` ``transplant`` / ``ignore_rep_bg``).

    Args:
        cur_logits: (B, C, h, w) current logits (stride 16, before upsampling) on the replayed images.
        mem_logits: (B, C_mem, h, w) stored logits; values beyond ``mem_num_classes[b]`` are arbitrary; only the
            first C channels are used (``C_mem < C`` is allowed when every ``mem_num_classes[b] <= C_mem``).
        mem_num_classes: (B,) int: channels of each stored sample's logits.
        ignore_bg: replace the background channel too (official ``ignore_rep_bg`` True).

    Returns:
        (B, C, h, w) squared errors; the official loss (``nn.MSELoss``) is their mean.
    """
    owner = 'der_logit_loss'
    if cur_logits.dim() != 4 or mem_logits.dim() != 4 or mem_logits.shape[0] != cur_logits.shape[0] or \
            mem_logits.shape[-2:] != cur_logits.shape[-2:]:
        raise ValueError(f'{owner}: cur_logits (B, C, h, w) and mem_logits (B, C_mem, h, w) must share B, h, w; '
                         f'got {tuple(cur_logits.shape)} and {tuple(mem_logits.shape)}')
    b, c = cur_logits.shape[:2]
    n = torch.as_tensor(mem_num_classes, device=cur_logits.device)
    if n.shape != (b,) or n.is_floating_point() or n.dtype == torch.bool:
        raise ValueError(f'{owner}: mem_num_classes must be {b} ints (one per sample), got {mem_num_classes!r}')
    if (n < 1).any() or (n > mem_logits.shape[1]).any():
        raise ValueError(f'{owner}: mem_num_classes must lie in [1, {mem_logits.shape[1]}] (stored channels), '
                         f'got {n.tolist()}')
    mem = mem_logits[:, :c].detach().to(cur_logits.dtype)
    if mem.shape[1] < c:
        mem = torch.cat([mem, mem.new_zeros(b, c - mem.shape[1], *mem.shape[-2:])], dim=1)
    keep = torch.arange(c, device=cur_logits.device).unsqueeze(0) < n.unsqueeze(1)  # (B, C)
    if ignore_bg:
        keep[:, 0] = False
    target = torch.where(keep[:, :, None, None], mem, cur_logits.detach())
    return (cur_logits - target).pow(2)


@MODELS.register_module()
class DERLogitLoss(BaseLoss):
    """Dark Experience Replay logit term (see :func:`der_logit_loss`); METHODS.md B§5.2.3.

    ``'mean'`` divides by every element B·C·h·w, the replaced channels included (official ``nn.MSELoss()``).

    Deviation (bug not reproduced): the official per-sample replacement indexes samples with
    ``torch.unique(n_classes, return_inverse=True)[1][i]`` - the group id of sample ``i``, not the samples of
    group ``i`` - so only one sample per group gets its later-class channels replaced and the others keep the
    buffer's zero padding (new-class logits pulled towards 0). Here every sample's channels
    ``c >= mem_num_classes[b]`` are replaced, as METHODS.md and the code's comments intend.

    Args:
        ignore_bg: also replace the background channel (official ``ignore_rep_bg`` True).
        loss_weight: α = 0.8 (``conf/experiments/loss/bacs_plus.yaml`` and ``conf/bacs/loss/bacs_plus_bg.yaml``;
            ``conf/bacs/loss/bacs_plus.yaml`` uses 0.5).
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` ((B, C, h, w) map).
        loss_name: key in the loss dict.
    """

    def __init__(self, ignore_bg: bool = True, loss_weight: float = 0.8, reduction: str = 'mean',
                 loss_name: str = 'loss_der') -> None:
        super().__init__(loss_weight, reduction, loss_name)
        if not isinstance(ignore_bg, bool):
            raise ConfigError(f'{type(self).__name__}: ignore_bg must be True or False, got {ignore_bg!r}')
        self.ignore_bg = ignore_bg

    def forward(self, cur_logits: torch.Tensor, mem_logits: torch.Tensor,
                mem_num_classes: Union[torch.Tensor, Sequence[int]]) -> torch.Tensor:
        loss = der_logit_loss(cur_logits, mem_logits, mem_num_classes, self.ignore_bg)
        return self.loss_weight * weight_reduce_loss(loss, reduction=self.reduction)


# 5. DER++ (labels) --------------------------------------------------------------------------------------------
def der_label_loss(logits: torch.Tensor, labels: torch.Tensor, num_old_classes: int,
                   ignore_index: int = IGNORE_INDEX, ignore_bg: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Class-weighted CE on replayed stored labels (METHODS.md B§5.2.3, official ``_dark_pp``).

    Class weights: 1 for classes ``1..num_old_classes-1`` (``0..`` without ``ignore_bg``), 0 for background and
    for classes ``>= num_old_classes``.

    Args:
        logits: (B, C, H, W) current logits on the replayed images, at label resolution.
        labels: (B, H, W) stored labels in ``0..C-1`` or ``ignore_index``.
        num_old_classes: classes before this step, background included (>= 1).
        ignore_index: ignored label.
        ignore_bg: background weight 0 (official ``ignore_rep_bg`` True).

    Returns:
        ``(loss, weight)``: (B, H, W) weighted per-pixel CE and the (B, H, W) class weight of each pixel's label
        (0 on ignored pixels); the official mean is ``loss.sum() / weight.sum()``.
    """
    owner = 'der_label_loss'
    if logits.dim() != 4:
        raise ValueError(f'{owner}: logits must be (B, C, H, W), got {tuple(logits.shape)}')
    _check_labels(owner, labels, logits.shape[0], logits.shape[-2:])
    _check_num_old(owner, num_old_classes, logits.shape[1], 1)
    class_weight = logits.new_zeros(logits.shape[1])
    class_weight[(1 if ignore_bg else 0):num_old_classes] = 1
    labels = labels.long()
    loss = F.cross_entropy(logits, labels, weight=class_weight, ignore_index=ignore_index, reduction='none')
    valid = labels != ignore_index
    weight = class_weight[torch.where(valid, labels, torch.zeros_like(labels))] * valid
    return loss, weight


@MODELS.register_module()
class DERLabelLoss(BaseLoss):
    """DER++ label term (see :func:`der_label_loss`); METHODS.md B§5.2.3.

    ``'mean'`` is ``F.cross_entropy(weight=...)``'s: ``Σ w_y ℓ / Σ w_y`` over non-ignored pixels. Deviation: when
    no pixel carries an old foreground class (``Σ w_y = 0``) the result is 0, not the official NaN.

    Args:
        ignore_bg: background weight 0 (official ``ignore_rep_bg`` True).
        loss_weight: β = 0.5 (every BACS config).
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` ((B, H, W) map).
        loss_name: key in the loss dict.
    """

    needs_old_classes = True

    def __init__(self, ignore_bg: bool = True, loss_weight: float = 0.5, reduction: str = 'mean',
                 loss_name: str = 'loss_derpp') -> None:
        super().__init__(loss_weight, reduction, loss_name)
        if not isinstance(ignore_bg, bool):
            raise ConfigError(f'{type(self).__name__}: ignore_bg must be True or False, got {ignore_bg!r}')
        self.ignore_bg = ignore_bg

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, num_old_classes: int,
                ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
        loss, weight = der_label_loss(logits, labels, num_old_classes, ignore_index, self.ignore_bg)
        avg_factor = weight.sum() if self.reduction == 'mean' else None
        return self.loss_weight * weight_reduce_loss(loss, reduction=self.reduction, avg_factor=avg_factor)
