"""Homotopy-warping loss (Hu, NeurIPS 2022) as compared in TopoMortar.

``L = Dice + lam * L_warp`` with ``L_warp`` the cross-entropy on the *critical* pixels: the pixels where the
prediction and the label still differ after each has been warped toward the other by flipping simple
points only (flips that change no Betti number).  The warping term is switched on after 70 % of training
(read from mmengine's ``MessageHub``) and, under deep supervision, only on the main output.
"""
from __future__ import annotations

import numpy as np
import torch

from visionx.registry import MODELS
from .topology_common import TopologyLossBase, dice_term, gate_open, hard_labels, prepare
from .topology_digital import homotopic_warp


def critical_mask(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Pixels whose mismatch changes topology: ``(pred != warp(gt -> pred)) | (gt != warp(pred -> gt))``."""
    return (pred != homotopic_warp(gt, pred)) | (gt != homotopic_warp(pred, gt))


@torch.no_grad()
def batch_critical_masks(pred_fg: torch.Tensor, gt_fg: torch.Tensor) -> torch.Tensor:
    """Critical masks (B, *spatial) float of hard foreground masks (B, *spatial), computed on CPU."""
    pred_np, gt_np = pred_fg.cpu().numpy() > 0, gt_fg.cpu().numpy() > 0
    out = np.stack([critical_mask(p, g) for p, g in zip(pred_np, gt_np)]).astype(np.float32)
    return torch.from_numpy(out).to(pred_fg.device)


def warping_loss(logits: torch.Tensor, target: torch.Tensor, lam: float = 0.1, active: bool = True,
                 official_gt_channel: bool = False, ignore_index: int | None = 255) -> torch.Tensor:
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
    """
    log_p, p, y, valid = prepare(logits, target, ignore_index)
    loss = dice_term(p, y, valid)
    if not active:
        return loss
    y_hard = hard_labels(y)
    gt_fg = y_hard[:, 0] if official_gt_channel else y_hard[:, 1:].any(1)
    pred_fg = p.detach().argmax(1) >= 1
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
    """

    def __init__(self, lam: float = 0.1, start_fraction: float = 0.7, official_gt_channel: bool = False,
                 loss_weight: float = 1.0, loss_name: str = 'loss_warping', reduction: str = 'mean',
                 ignore_index: int | None = 255):
        super().__init__(loss_weight, loss_name, reduction, ignore_index)
        self.lam, self.start_fraction, self.official_gt_channel = lam, start_fraction, official_gt_channel

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None,
                ignore_index=None, gate: bool | None = None, **kwargs) -> torch.Tensor:
        """``gate``: ``None`` follows the schedule; ``False``/``True`` force the warping term off/on."""
        self._check(weight, avg_factor, reduction_override)
        active = gate_open(self.start_fraction, gate)
        return self.loss_weight * warping_loss(pred, target, self.lam, active, self.official_gt_channel,
                                               self._ignore(ignore_index))
