"""Homotopy-warping loss (Hu, NeurIPS 2022) as compared in TopoMortar.

``L = Dice + lam * L_warp`` with ``L_warp`` the cross-entropy on the *critical* pixels: the pixels where the
prediction and the label still differ after each has been warped toward the other by flipping simple
points only (flips that change no Betti number).  The warping term is switched on after 70 % of training
(read from mmengine's ``MessageHub``) and, under deep supervision, only on the main output.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from scipy import ndimage

from visionx.registry import MODELS
from .common import TopologyLossBase, dice_term, gate_open, hard_labels, prepare
from .digital import homotopic_warp


def critical_mask(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Pixels whose mismatch changes topology: ``(pred != warp(gt -> pred)) | (gt != warp(pred -> gt))``."""
    return (pred != homotopic_warp(gt, pred)) | (gt != homotopic_warp(pred, gt))


# -- the official warping (Hu's heuristic), for official=True ---------------------------------------


@lru_cache(maxsize=1)
def _official_flip_lut_2d() -> np.ndarray:
    """(512,) bool over 3x3 patches *with* their centre (bit k = patch.ravel()[k]): the official test.

    The official ``decide_simple_point_2D`` flips the centre when the whole patch has exactly one
    4-connected foreground component and exactly one 8-connected background component (cv2).
    """
    four, eight = ndimage.generate_binary_structure(2, 1), np.ones((3, 3), bool)
    lut = np.zeros(512, bool)
    for code in range(512):
        patch = ((code >> np.arange(9)) & 1).reshape(3, 3).astype(bool)
        lut[code] = ndimage.label(patch, four)[1] == 1 and ndimage.label(~patch, eight)[1] == 1
    return lut


_OFFICIAL_3D: dict[int, bool] = {}


def _official_flip_3d(patch: np.ndarray) -> bool:
    """Official ``decide_simple_point_3D``: one 6-connected foreground and one 26-connected background
    component in the whole 3x3x3 patch (cc3d)."""
    code = int(np.packbits(patch.ravel(), bitorder='little').view('<u4')[0])
    hit = _OFFICIAL_3D.get(code)
    if hit is None:
        six = ndimage.generate_binary_structure(3, 1)
        hit = ndimage.label(patch, six)[1] * ndimage.label(~patch, np.ones((3, 3, 3), bool))[1] == 1
        if len(_OFFICIAL_3D) < 2_000_000:
            _OFFICIAL_3D[code] = hit
    return hit


def official_update_simple_point(distance: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The official ``update_simple_point``: one pass over the points with ``distance > 0`` in ascending
    distance (numpy's default ``argsort`` of ``-distance``, as the official code), flipping each point
    that passes the official patch test on the current mask; points on the image border never flip."""
    mask = np.asarray(mask, bool).copy()
    n = int(np.count_nonzero(distance))
    if n == 0:
        return mask
    order = np.unravel_index(np.argsort(-distance, axis=None), distance.shape)
    lut = _official_flip_lut_2d() if mask.ndim == 2 else None
    weights = 1 << np.arange(9)
    for k in range(n - 1, -1, -1):
        idx = tuple(int(o[k]) for o in order)
        if any(i < 1 or i > s - 2 for i, s in zip(idx, mask.shape)):
            continue
        patch = mask[tuple(slice(i - 1, i + 2) for i in idx)]
        flip = lut[int((patch.ravel() * weights).sum())] if lut is not None else _official_flip_3d(patch)
        if flip:
            mask[idx] = not mask[idx]
    return mask


def official_critical_mask(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Critical pixels exactly as the official ``WarpingLoss`` finds them for one image.

    The label is shrunk along its false negatives, then grown along its false positives, each in
    ascending distance-transform order; the prediction is warped the other way round; critical pixels
    are ``(pred != warped label) | (label != warped prediction)``.
    """
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    fp, fn = pred & ~gt, gt & ~pred
    gt_warp = official_update_simple_point(ndimage.distance_transform_edt(gt) * fn, gt)
    gt_warp = official_update_simple_point(ndimage.distance_transform_edt(~gt) * fp, gt_warp)
    pred_warp = official_update_simple_point(ndimage.distance_transform_edt(pred) * fp, pred)
    pred_warp = official_update_simple_point(ndimage.distance_transform_edt(~pred) * fn, pred_warp)
    return (pred != gt_warp) | (gt != pred_warp)


@torch.no_grad()
def batch_critical_masks(pred_fg: torch.Tensor, gt_fg: torch.Tensor, official: bool = False) -> torch.Tensor:
    """Critical masks (B, *spatial) float of hard foreground masks (B, *spatial), computed on CPU."""
    pred_np, gt_np = pred_fg.cpu().numpy() > 0, gt_fg.cpu().numpy() > 0
    fn = official_critical_mask if official else critical_mask
    out = np.stack([fn(p, g) for p, g in zip(pred_np, gt_np)]).astype(np.float32)
    return torch.from_numpy(out).to(pred_fg.device)


def warping_loss(logits: torch.Tensor, target: torch.Tensor, lam: float = 0.1, active: bool = True,
                 official_gt_channel: bool = False, ignore_index: int | None = 255,
                 official: bool = False) -> torch.Tensor:
    """``Dice + lam * L_warp`` (``Dice`` alone when ``active`` is False).

    ``L_warp = mean over pixels of CE * M`` with M the critical mask of (argmax foreground, label
    foreground).  TopoMortar computes ``CE(p * M, onehot(y * M))``; masked pixels then add a constant with
    zero gradient, which is dropped here.

    Defined in 2D and 3D: (B, C, D, H, W) logits are warped with 26/6 connectivity.

    Args:
        logits: (B, C, H, W) or (B, C, D, H, W).
        target: labels (B, *spatial) or soft labels (B, C, *spatial) (arg-maxed for the warping).
        lam: weight of the warping term (0.1).
        active: whether the warping term is on.
        official_gt_channel: take the "label" mask from one-hot channel 0 (background) as the official
            code does (METHODS §3.5 #7, an [inferred] quirk); the default uses the foreground.
        official: reproduce the official ``WarpingLoss`` as a whole: the label from channel 0, its
            warping heuristic (:func:`official_critical_mask`: one sequential pass per mismatch type in
            distance order, the patch test on the whole 3x3 (3x3x3) patch with 4/8 (6/26) connectivity,
            border pixels never flipped; it is not an exact simple-point test), soft labels floored as its
            ``astype(uint8)`` / ``one_hot`` do, and the value ``sum_c -mean(t_c log(p_c M + 1e-15))``
            including the constant of the masked pixels.
    """
    log_p, p, y, valid = prepare(logits, target, ignore_index)
    loss = dice_term(p, y, valid)
    if not active:
        return loss
    pred_fg = p.detach().argmax(1) >= 1
    if official:
        gt_bg = torch.floor(y[:, 0]) > 0   # the official "label": channel 0, floored
        crit = batch_critical_masks(pred_fg, gt_bg, official=True).unsqueeze(1) * valid
        t_fg = (torch.floor(y[:, 1:2]) * crit).long()
        t = torch.cat([1 - t_fg, t_fg], 1).float()
        dims = [0] + list(range(2, p.dim()))
        warp = -(t * torch.log(p * crit + 1e-15)).mean(dims).sum()
        return loss + lam * warp
    y_hard = hard_labels(y)
    gt_fg = y_hard[:, 0] if official_gt_channel else y_hard[:, 1:].any(1)
    crit = batch_critical_masks(pred_fg, gt_fg).unsqueeze(1) * valid
    ce = -(y * log_p).sum(1, keepdim=True)
    return loss + lam * (ce * crit).mean()


@MODELS.register_module()
class WarpingLoss(TopologyLossBase):
    """Dice + homotopy-warping loss, gated by the training schedule (see :func:`warping_loss`).

    Args:
        lam: weight of the warping term (TopoMortar: 0.1).
        start_fraction: the warping term is on once ``(iter + 1) / max_iters > start_fraction`` (0.7).
            The iteration comes from mmengine's ``MessageHub`` (see
            :class:`visionx.engine.hooks.TopologyLossScheduleHook`), never from a counter in the loss.
        official_gt_channel: reproduce the official code's use of one-hot channel 0 as the label.
        official: reproduce the official ``WarpingLoss`` as a whole (see :func:`warping_loss`).
    """

    def __init__(self, lam: float = 0.1, start_fraction: float = 0.7, official_gt_channel: bool = False,
                 official: bool = False, loss_weight: float = 1.0, loss_name: str = 'loss_warping',
                 reduction: str = 'mean', ignore_index: int | None = 255):
        super().__init__(loss_weight, loss_name, reduction, ignore_index)
        self.lam, self.start_fraction, self.official_gt_channel = lam, start_fraction, official_gt_channel
        self.official = official

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None,
                ignore_index=None, gate: bool | None = None, **kwargs) -> torch.Tensor:
        """``gate``: ``None`` follows the schedule; ``False``/``True`` force the warping term off/on."""
        self._check(weight, avg_factor, reduction_override)
        active = gate_open(self.start_fraction, gate)
        return self.loss_weight * warping_loss(pred, target, self.lam, active, self.official_gt_channel,
                                               self._ignore(ignore_index), self.official)
