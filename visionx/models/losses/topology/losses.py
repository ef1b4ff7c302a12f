"""The losses compared in TopoMortar, as mmseg-style losses.

All take logits (B, C, H, W) — C = 2 (softmax, as in TopoMortar) or C = 1 (sigmoid) — and integer labels
(B, H, W) or soft labels (B, C, H, W).  Where a method is defined in 3D (CE+Dice, clDice, Skeleton Recall,
region-wise) (B, C, D, H, W) works too.  Each has a functional core (``*_loss``) and a thin registered
module.  Scheduled terms (Warping, the persistent-homology TopoLoss) live in :mod:`.warping` and
:mod:`.persistence`; the TOPO loss (Oner et al., distance regression + windowed MALIS) in :mod:`.malis`.

Reference: J. M. Valverde et al., "TopoMortar", BMVC 2025 (arXiv 2503.03365), and the papers of each loss.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from visionx.registry import MODELS
from .common import (TopologyLossBase, ce_term, dice_term, edt, hard_labels, prepare,
                              soft_skeleton, topological_skeleton, tubed_skeleton)

__all__ = [
    'ce_dice_loss', 'cldice_loss', 'skeleton_recall_loss', 'cbdice_loss', 'region_wise_loss',
    'CEDiceLoss', 'clDiceLoss', 'SkeletonRecallLoss', 'cbDiceLoss', 'RegionWiseLoss',
    'WarpingLoss', 'PersistentHomologyLoss', 'ConnectivityMALISLoss', 'TopoLoss', 'TOPOLoss'
]

# -- CE + Dice -------------------------------------------------------------------------------------


def ce_dice_loss(logits: torch.Tensor, target: torch.Tensor, lambda_ce: float = 1.0,
                 lambda_dice: float = 1.0, ignore_index: int | None = 255) -> torch.Tensor:
    """TopoMortar's baseline ``lambda_ce * CE + lambda_dice * Dice`` (Dice over both classes).

    Args:
        logits: (B, C, *spatial).
        target: (B, *spatial) labels or (B, C, *spatial) soft labels.

    Returns:
        Scalar loss.

    Integer labels with softmax logits (C >= 2, the TopoMortar setting) take a fused path: ``F.cross_entropy``
    on the logits and the Dice sums from one softmax, with the one-hot target built by ``F.one_hot`` (which
    also rejects out-of-range labels, so the range check costs no extra pass) and the ignore masking applied
    only when the batch has ignored pixels.  The value equals the general path (``prepare`` +
    :func:`ce_term` + :func:`dice_term`) up to float rounding; soft labels and sigmoid logits take the
    general path.
    """
    if target.dim() == logits.dim() - 1 and logits.dim() in (4, 5) and logits.shape[1] >= 2 \
            and not target.is_floating_point():
        return _ce_dice_labels(logits, target, lambda_ce, lambda_dice, ignore_index)
    log_p, p, y, valid = prepare(logits, target, ignore_index)
    return lambda_ce * ce_term(log_p, y, valid) + lambda_dice * dice_term(p, y, valid)


def _ce_dice_labels(logits: torch.Tensor, target: torch.Tensor, lambda_ce: float, lambda_dice: float,
                    ignore_index: int | None, smooth: float = 1e-5) -> torch.Tensor:
    """:func:`ce_dice_loss` for integer labels (B, *spatial) and softmax logits (B, C, *spatial), C >= 2."""
    if tuple(target.shape) != (logits.shape[0], *logits.shape[2:]):
        raise ValueError(f'label shape {tuple(target.shape)} does not match logits {tuple(logits.shape)}')
    logits, target = logits.float(), target.long()
    num_classes = logits.shape[1]
    valid = None
    if ignore_index is not None:
        ignored = target == ignore_index
        if bool(ignored.any()):
            valid = ~ignored
            target = target.masked_fill(ignored, 0)
    if target.is_cuda and target.numel():  # CUDA's one_hot does not check the range (no host sync there)
        lo, hi = torch.aminmax(target)
        if int(lo) < 0 or int(hi) >= num_classes:
            target = target.cpu()  # let the CPU one_hot below report it
    try:
        y = F.one_hot(target, num_classes)
    except RuntimeError:  # out-of-range or negative labels: report the values found
        raise ValueError(f'labels must lie in [0, {num_classes - 1}] (or be ignore_index={ignore_index}); '
                         f'got values in [{int(target.min())}, {int(target.max())}]. TopoMortar masks store '
                         "255 for mortar: map them to 1 with the dataset's label_map={255: 1} "
                         '(TopoMortarDataset does this).') from None
    y = y.movedim(-1, 1).to(logits.dtype)
    p = logits.softmax(1)
    if valid is None:
        ce = F.cross_entropy(logits, target)
    else:
        count = valid.sum().clamp_min(1)
        ce = F.cross_entropy(logits, target.masked_fill(~valid, -100), ignore_index=-100,
                             reduction='sum') / count
        mask = valid.unsqueeze(1).to(logits.dtype)
        p, y = p * mask, y * mask
    dims = tuple(range(2, logits.dim()))
    dice = (2 * (p * y).sum(dims) + smooth) / (y.sum(dims) + p.sum(dims) + smooth)
    return lambda_ce * ce + lambda_dice * (1 - dice.mean())


@MODELS.register_module()
class CEDiceLoss(TopologyLossBase):
    """Cross-entropy + soft Dice, the TopoMortar baseline (see :func:`ce_dice_loss`)."""

    def __init__(self, lambda_ce: float = 1.0, lambda_dice: float = 1.0, loss_weight: float = 1.0,
                 loss_name: str = 'loss_ce_dice', reduction: str = 'mean', ignore_index: int | None = 255):
        super().__init__(loss_weight, loss_name, reduction, ignore_index)
        self.lambda_ce, self.lambda_dice = lambda_ce, lambda_dice

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weight=None, avg_factor=None,
                reduction_override=None, ignore_index: int | None = None, **kwargs) -> torch.Tensor:
        self._check(weight, avg_factor, reduction_override)
        return self.loss_weight * ce_dice_loss(pred, target, self.lambda_ce, self.lambda_dice,
                                               self._ignore(ignore_index))


# -- clDice ----------------------------------------------------------------------------------------


def cldice_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.5, iterations: int = 3,
                smooth: float = 1.0, ignore_index: int | None = 255) -> torch.Tensor:
    """``(1 - alpha) * Dice + alpha * (1 - clDice)`` with soft skeletons (Shit et al., CVPR 2021, Eq. 3).

    Topology precision/sensitivity use the foreground channels only and are summed over the whole batch,
    as in TopoMortar: ``Tprec = (sum skel(p) y + s) / (sum skel(p) + s)``,
    ``Tsens = (sum skel(y) p + s) / (sum skel(y) + s)``.

    Args:
        logits: (B, C, H, W) or (B, C, D, H, W).
        target: labels (B, *spatial) or soft labels (B, C, *spatial).
        alpha: weight of the clDice term (0.5).
        iterations: soft-skeleton iterations (3).
        smooth: smoothing of Tprec/Tsens (1).
    """
    log_p, p, y, valid = prepare(logits, target, ignore_index)
    dice = dice_term(p, y, valid)
    p_fg, y_fg = (p * valid)[:, 1:], y[:, 1:]
    skel_p, skel_y = soft_skeleton(p_fg, iterations), soft_skeleton(y_fg, iterations)
    tprec = ((skel_p * y_fg).sum() + smooth) / (skel_p.sum() + smooth)
    tsens = ((skel_y * p_fg).sum() + smooth) / (skel_y.sum() + smooth)
    cl_dice = 2 * tprec * tsens / (tprec + tsens)
    return (1 - alpha) * dice + alpha * (1 - cl_dice)


@MODELS.register_module()
class clDiceLoss(TopologyLossBase):  # noqa: N801  (the method's own spelling)
    """Soft-Dice + clDice (see :func:`cldice_loss`).  Memory grows with ``iterations`` (max-pool chain)."""

    def __init__(self, alpha: float = 0.5, iterations: int = 3, smooth: float = 1.0,
                 loss_weight: float = 1.0, loss_name: str = 'loss_cldice', reduction: str = 'mean',
                 ignore_index: int | None = 255):
        super().__init__(loss_weight, loss_name, reduction, ignore_index)
        if not 0 <= alpha <= 1:
            raise ValueError(f'alpha must be in [0, 1], got {alpha}')
        self.alpha, self.iterations, self.smooth = alpha, iterations, smooth

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None,
                ignore_index=None, **kwargs) -> torch.Tensor:
        self._check(weight, avg_factor, reduction_override)
        return self.loss_weight * cldice_loss(pred, target, self.alpha, self.iterations, self.smooth,
                                              self._ignore(ignore_index))


# -- Skeleton Recall -------------------------------------------------------------------------------


@torch.no_grad()
def batch_tubed_skeletons(y_hard: torch.Tensor) -> torch.Tensor:
    """Tubed skeletons of every foreground channel of a one-hot target, on CPU, without gradient.

    Args:
        y_hard: (B, K, *spatial) one-hot (bool or float).

    Returns:
        (B, K - 1, *spatial) float tensor on the input's device.
    """
    arr = y_hard[:, 1:].detach().cpu().numpy() > 0
    out = np.zeros(arr.shape, np.float32)
    for b in range(arr.shape[0]):
        for c in range(arr.shape[1]):
            out[b, c] = tubed_skeleton(arr[b, c])
    return torch.from_numpy(out).to(y_hard.device)


def skeleton_recall_loss(logits: torch.Tensor, target: torch.Tensor, lam: float = 1.0,
                         skeleton: torch.Tensor | None = None, smooth: float = 1e-5,
                         ignore_index: int | None = 255) -> torch.Tensor:
    """``CE + lam * SRL`` of Kirchhoff et al. (ECCV 2024), as in TopoMortar.

    ``SRL = 1 - mean_{b, c>=1} (sum p_c y_c T_c + s) / (sum y_c T_c + s)`` with T the tubed skeleton of the
    (arg-maxed) target (TopoMortar writes ``-mean(...)``; the constant 1 keeps the loss non-negative).
    An image without skeleton contributes ``1 - s/s = 0``.

    Args:
        logits: (B, C, *spatial).
        target: labels or soft labels (soft labels are arg-maxed for the skeleton, as in TopoMortar).
        lam: weight of SRL (1).
        skeleton: optional precomputed tubed skeletons (B, C - 1, *spatial) or (B, *spatial) for binary
            tasks (e.g. from the ``TubedSkeleton`` transform); computed on the fly otherwise.
    """
    log_p, p, y, valid = prepare(logits, target, ignore_index)
    y_hard = hard_labels(y).float()
    if skeleton is None:
        skeleton = batch_tubed_skeletons(y_hard)
    else:
        skeleton = skeleton.to(p.device, torch.float32)
        if skeleton.dim() == p.dim() - 1:
            skeleton = skeleton.unsqueeze(1)
        if skeleton.shape[1:] != p[:, 1:].shape[1:] or skeleton.shape[0] != p.shape[0]:
            raise ValueError(f'skeleton shape {tuple(skeleton.shape)} does not match the foreground '
                             f'channels {tuple(p[:, 1:].shape)}')
    dims = tuple(range(2, p.dim()))
    tube = y_hard[:, 1:] * skeleton
    recall = ((p[:, 1:] * tube).sum(dims) + smooth) / (tube.sum(dims) + smooth)
    return ce_term(log_p, y, valid) + lam * (1 - recall.mean())


@MODELS.register_module()
class SkeletonRecallLoss(TopologyLossBase):
    """CE + Skeleton Recall (see :func:`skeleton_recall_loss`).

    Skeletons are computed on the fly on CPU (skimage) unless ``skeleton=`` is passed to ``forward``;
    :class:`visionx.models.segmentors.DeepSupervisionSegmentor` passes the ``gt_skeleton`` that the
    ``TubedSkeleton`` transform puts in the data samples, moving that work into the data loader workers.
    """

    def __init__(self, lam: float = 1.0, loss_weight: float = 1.0, loss_name: str = 'loss_skel_recall',
                 reduction: str = 'mean', ignore_index: int | None = 255):
        super().__init__(loss_weight, loss_name, reduction, ignore_index)
        self.lam = lam

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None,
                ignore_index=None, skeleton: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        self._check(weight, avg_factor, reduction_override)
        ii = self._ignore(ignore_index)
        if skeleton is None:
            skeleton = self._label_cached(
                target, lambda: batch_tubed_skeletons(hard_labels(prepare(pred.detach(), target, ii)[2])))
        return self.loss_weight * skeleton_recall_loss(pred, target, self.lam, skeleton, ignore_index=ii)


# -- cbDice ----------------------------------------------------------------------------------------


def _radius_maps(mask: np.ndarray, skel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cbDice maps of a binary mask and its skeleton: normalised distance, radius and inverse radius.

    The inverse weight on the skeleton is ``1 / R_n`` in 2D and ``1 / R_n^2`` in 3D (a tube's
    cross-section grows with the square of its radius), both smoothed by 1e-7, as in the official cbDice.
    """
    d = edt(mask)
    r = d * skel
    r_max = max(float(r.max()) if r.size else 0.0, 1.0)
    d_n = np.minimum(d, r_max) / r_max
    r_n = r / r_max
    power = 1 if mask.ndim == 2 else 2
    inv = np.where(skel > 0, (1 + 1e-7) / (r_n ** power + 1e-7), 0.0)
    return d_n.astype(np.float32), r_n.astype(np.float32), inv.astype(np.float32)


def _combine(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``b * c``, except where ``a != 0`` and ``b == 0``: ``a * c`` (cbDice's radius fallback)."""
    return torch.where((a != 0) & (b == 0), a * c, b * c)


@torch.no_grad()
def cbdice_label_maps(y: torch.Tensor, skeleton_iterations: int = 5) -> torch.Tensor:
    """cbDice label triplet ``(q_vl, q_slvl, q_sl)`` stacked as (3, B, *spatial) from a one-hot target."""
    gt_np = hard_labels(y)[:, 1:].any(1).cpu().numpy()
    maps = []
    for g in gt_np:
        k_gt = topological_skeleton(g, skeleton_iterations)
        d_n, r_n, inv = _radius_maps(g, k_gt)
        maps.append(np.stack([d_n * g, r_n * g, inv * k_gt]))
    return torch.from_numpy(np.stack(maps, 1).astype(np.float32)).to(y.device)


def cbdice_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float = 1.0, beta: float = 1.0,
                smooth: float = 1.0, skeleton_iterations: int = 5,
                ignore_index: int | None = 255, label_maps: torch.Tensor | None = None) -> torch.Tensor:
    """``0.5 CE + alpha/(2(alpha+beta)) Dice + beta/(2(alpha+beta)) cbDice`` (Shi et al., MICCAI 2024).

    Foreground probability ``p = softmax([x_bg, max_c x_fg])_1``; skeletons of the hard prediction and of
    the target come from the topology-preserving thinning of Menten et al. (no gradient); radius-weighted
    precision/sensitivity are summed over the batch (see METHODS §3.5 #6).  The cbDice term is written
    as ``1 - 2 w_p w_s / (w_p + w_s)`` (TopoMortar: ``-2 ...``; same gradients).  Defined in 2D and 3D
    (skeletons with 8/4 or 26/6 connectivity; inverse-radius weight ``1/R`` or ``1/R^2``).  The 2-D
    skeletons equal those of Menten et al.'s ``Skeletonize``; in 3D that code only checks that deleting a
    voxel leaves the Euler characteristic of its 3x3x3 neighbourhood unchanged, which is not a complete
    simple-point test, whereas VisionX uses the Bertrand-Malandain test (on random blobby volumes the two
    skeletons differ in 1-5 % of their voxels).

    Args:
        logits: (B, C, H, W) or (B, C, D, H, W).
        target: labels (B, *spatial) or soft labels (B, C, *spatial) (arg-maxed for the skeleton).
        label_maps: optional precomputed :func:`cbdice_label_maps` (3, B, *spatial).
    """
    log_p, p, y, valid = prepare(logits, target, ignore_index)
    ce = ce_term(log_p, y, valid)
    dice = dice_term(p, y, valid)
    if logits.shape[1] == 1:
        p_fg = p[:, 1]
    else:
        x = logits.float()
        p_fg = torch.softmax(torch.stack([x[:, 0], x[:, 1:].amax(1)], 1), 1)[:, 1]
    p_fg = p_fg * valid[:, 0]
    if label_maps is None:
        label_maps = cbdice_label_maps(y, skeleton_iterations)
    pred_np = (p_fg.detach() > 0.5).cpu().numpy()
    maps = {k: [] for k in ('d_p', 'r_p', 'i_p', 'k_p')}
    for b in range(logits.shape[0]):
        k_pred = topological_skeleton(pred_np[b], skeleton_iterations)
        d_p, r_p, i_p = _radius_maps(pred_np[b], k_pred)
        maps['d_p'].append(d_p)
        maps['r_p'].append(r_p)
        maps['i_p'].append(i_p)
        maps['k_p'].append(k_pred.astype(np.float32))
    t = {k: torch.from_numpy(np.stack(v)).to(p_fg.device) for k, v in maps.items()}
    k_hat_p = t['k_p'] * p_fg                 # soft predicted skeleton
    q_vp, q_spvp, q_sp = t['d_p'] * p_fg, t['r_p'] * p_fg, t['i_p'] * k_hat_p
    q_vl, q_slvl, q_sl = label_maps.to(p_fg.device).unbind(0)
    w_prec = ((q_sp * q_vl).sum() + smooth) / (_combine(q_spvp, q_slvl, q_sp).sum() + smooth)
    w_sens = ((q_sl * q_vp).sum() + smooth) / (_combine(q_slvl, q_spvp, q_sl).sum() + smooth)
    cb = 1 - 2 * w_prec * w_sens / (w_prec + w_sens)
    return 0.5 * ce + alpha / (2 * (alpha + beta)) * dice + beta / (2 * (alpha + beta)) * cb


@MODELS.register_module()
class cbDiceLoss(TopologyLossBase):  # noqa: N801  (the method's own spelling)
    """CE + Dice + centerline-boundary Dice (see :func:`cbdice_loss`)."""

    def __init__(self, alpha: float = 1.0, beta: float = 1.0, smooth: float = 1.0,
                 skeleton_iterations: int = 5, loss_weight: float = 1.0, loss_name: str = 'loss_cbdice',
                 reduction: str = 'mean', ignore_index: int | None = 255):
        super().__init__(loss_weight, loss_name, reduction, ignore_index)
        self.alpha, self.beta, self.smooth, self.skeleton_iterations = alpha, beta, smooth, skeleton_iterations

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None,
                ignore_index=None, **kwargs) -> torch.Tensor:
        self._check(weight, avg_factor, reduction_override)
        ii = self._ignore(ignore_index)
        label_maps = self._label_cached(
            target, lambda: cbdice_label_maps(prepare(pred.detach(), target, ii)[2], self.skeleton_iterations))
        return self.loss_weight * cbdice_loss(pred, target, self.alpha, self.beta, self.smooth,
                                              self.skeleton_iterations, ii, label_maps)


# -- Region-wise loss ------------------------------------------------------------------------------


@torch.no_grad()
def region_wise_map(y: torch.Tensor, soft: bool = False) -> torch.Tensor:
    """Rectified region-wise map Phi (B, K, *spatial) of a one-hot/soft target (Valverde et al.).

    Hard labels: inside class c, ``-EDT(y_c) / max EDT(y_c)`` (in (-1, 0]); outside it ``+1``
    (``ratio = [1, 1]``).  A class filling the image measures its distances to the image border.
    Soft labels (binary only, self-distillation): ``Phi = -y`` with ``Phi_0 = 1`` where ``y_fg > 0.9`` and
    ``Phi_1 = 1`` where ``y_fg < 0.1``.
    """
    if soft:
        if y.shape[1] != 2:
            raise ValueError('the soft-label region-wise map is defined for 2 classes only')
        phi = -y.clone()
        phi[:, 0][y[:, 1] > 0.9] = 1
        phi[:, 1][y[:, 1] < 0.1] = 1
        return phi
    arr = y.detach().cpu().numpy() > 0.5
    phi = np.ones(arr.shape, np.float32)
    for b in range(arr.shape[0]):
        for c in range(arr.shape[1]):
            if arr[b, c].any():
                d = edt(arr[b, c])
                phi[b, c][arr[b, c]] = -(d / d.max())[arr[b, c]]
    return torch.from_numpy(phi).to(y.device)


def region_wise_loss(logits: torch.Tensor, target: torch.Tensor, ignore_index: int | None = 255,
                     phi: torch.Tensor | None = None) -> torch.Tensor:
    """``mean_{b,c,pixels}(p * Phi)`` with the rectified region-wise map (see :func:`region_wise_map`).

    Soft targets (B, C, *spatial) whose values are not all 0/1 use the soft-label map.  ``phi``
    (B, K, *spatial) may be passed precomputed.
    """
    _, p, y, valid = prepare(logits, target, ignore_index)
    if phi is None:
        phi = _region_wise_map_of(y, logits, target)
    return (p * phi * valid).mean()


def _region_wise_map_of(y: torch.Tensor, logits: torch.Tensor, target: torch.Tensor,
                        soft_map: str = 'thresholded') -> torch.Tensor:
    soft = target.dim() == logits.dim() and not torch.all((y == 0) | (y == 1))
    if soft and soft_map == 'official':
        return official_soft_region_wise_map(y)
    return region_wise_map(y, soft=bool(soft))


@torch.no_grad()
def official_soft_region_wise_map(y: torch.Tensor) -> torch.Tensor:
    """The map the official ``RegionWiseLoss.forward`` builds from soft labels (B, K, *spatial).

    It applies the hard-label recipe to the probabilities: per channel, scipy's distance transform with
    every non-zero probability counted as inside, ``-d / max(d + 1e-15)``, and 1 where that is 0.  Soft
    labels without exact zeros give (almost) the same map in every channel, hence (almost) no gradient;
    the thresholded self-distillation map the official code defines but never calls is VisionX's default.
    """
    arr = y.detach().cpu().double().numpy()
    phi = np.zeros(arr.shape)
    for b in range(arr.shape[0]):
        for c in range(arr.shape[1]):
            d = ndimage.distance_transform_edt(arr[b, c])
            phi[b, c] = -(d / np.max(d + 1e-15))
        phi[b][phi[b] == 0] = 1
    return torch.from_numpy(phi.astype(np.float32)).to(y.device)


@MODELS.register_module()
class RegionWiseLoss(TopologyLossBase):
    """Rectified region-wise loss (see :func:`region_wise_loss`).  Its value is negative at best.

    Args:
        soft_map: map used with soft labels (self-distillation): ``'thresholded'`` (default; METHODS
            §3.5 #3: ``-y`` with 1 where the label is confidently the other class, the map the official code
            defines for self-distillation) or ``'official'`` (what the official ``forward`` actually
            computes, :func:`official_soft_region_wise_map`).  Hard labels use the rectified map either way.
    """

    def __init__(self, soft_map: str = 'thresholded', loss_weight: float = 1.0,
                 loss_name: str = 'loss_region_wise', reduction: str = 'mean', ignore_index: int | None = 255):
        super().__init__(loss_weight, loss_name, reduction, ignore_index)
        if soft_map not in ('thresholded', 'official'):
            raise ValueError(f"soft_map must be 'thresholded' or 'official', got {soft_map!r}")
        self.soft_map = soft_map

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None,
                ignore_index=None, **kwargs) -> torch.Tensor:
        self._check(weight, avg_factor, reduction_override)
        ii = self._ignore(ignore_index)
        phi = self._label_cached(
            target, lambda: _region_wise_map_of(prepare(pred.detach(), target, ii)[2], pred, target,
                                                self.soft_map))
        return self.loss_weight * region_wise_loss(pred, target, ii, phi)


# Scheduled / persistent-homology losses live in their own modules; importing them registers them.
from .persistence import PersistentHomologyLoss, TopoLoss  # noqa: E402
from .warping import WarpingLoss  # noqa: E402
from .malis import ConnectivityMALISLoss, TOPOLoss  # noqa: E402
