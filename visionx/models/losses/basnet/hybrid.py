"""BASNet hybrid loss: BCE + (1 - SSIM) + IoU, summed over every side output.

Reference: Qin et al., "BASNet: Boundary-Aware Salient Object Detection", CVPR 2019, Eq. (1)-(5).

For every output ``S_k = sigmoid(logit_k)`` compared with the ground truth ``G`` in [0, 1]::

    l_k = l_bce(S_k, G) + (1 - SSIM(S_k, G)) + l_iou(S_k, G)        L = sum_k l_k

Deviations from the official code, all numerical-safety only (same values where the official code is
finite):

* BCE is computed from the logits (``binary_cross_entropy_with_logits``) instead of ``BCELoss`` on the
  sigmoid output; the two are mathematically equal, but the logit form never saturates at ``log(0)``.
* The IoU term adds ``eps`` to the denominator: the official ``1 - sum(SG) / (sum S + sum G - sum SG)`` is
  0/0 = NaN on an empty mask with an all-zero prediction (a likely cause of BASNet issue #47).
* The SSIM denominator is strictly positive because C1, C2 > 0, so no eps is needed there.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from visionx.registry import MODELS
from ..utils import BaseLoss, weight_reduce_loss

__all__ = ['gaussian_window', 'ssim_map', 'basnet_hybrid_loss', 'BASNetHybridLoss']

SSIM_C1 = 0.01**2
SSIM_C2 = 0.03**2


def gaussian_window(size: int = 11, sigma: float = 1.5, device=None, dtype=None) -> Tensor:
    """The normalised 2-D Gaussian window of the official SSIM code.

    Returns:
        Tensor: (size, size), sums to 1.
    """
    coords = torch.arange(size, device=device, dtype=torch.float64) - size // 2
    g = torch.exp(-coords**2 / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g).to(dtype or torch.float32)


def ssim_map(x: Tensor, y: Tensor, window_size: int = 11, sigma: float = 1.5,
             c1: float = SSIM_C1, c2: float = SSIM_C2) -> Tensor:
    """Per-pixel SSIM with a Gaussian window, zero padding ``window_size // 2`` (as the official code).

    Args:
        x: (B, C, H, W) maps in [0, 1].
        y: (B, C, H, W) maps in [0, 1].

    Returns:
        Tensor: (B, C, H, W) SSIM map.
    """
    channels = x.shape[1]
    win = gaussian_window(window_size, sigma, x.device, x.dtype)
    win = win.expand(channels, 1, window_size, window_size).contiguous()
    pad = window_size // 2
    # One depth-wise conv over the five statistics instead of five separate convs.
    stats = torch.cat([x, y, x * x, y * y, x * y], dim=1)
    filt = F.conv2d(stats, win.repeat(5, 1, 1, 1), padding=pad, groups=5 * channels)
    mu_x, mu_y, e_xx, e_yy, e_xy = filt.split(channels, dim=1)
    sigma_x = e_xx - mu_x * mu_x
    sigma_y = e_yy - mu_y * mu_y
    sigma_xy = e_xy - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * sigma_xy + c2)
    den = (mu_x * mu_x + mu_y * mu_y + c1) * (sigma_x + sigma_y + c2)
    return num / den


def _hybrid_terms(logit: Tensor, target: Tensor, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """The three per-image terms for one output. logit, target: (B, 1, H, W). Returns three (B,)."""
    bce = F.binary_cross_entropy_with_logits(logit, target, reduction='none').flatten(1).mean(1)
    prob = logit.sigmoid()
    ssim = 1 - ssim_map(prob, target).flatten(1).mean(1)
    inter = (prob * target).flatten(1).sum(1)
    union = prob.flatten(1).sum(1) + target.flatten(1).sum(1) - inter
    iou = 1 - inter / (union + eps)
    return bce, ssim, iou


def _as_target(target: Tensor, like: Tensor) -> Tensor:
    if target.dim() == 3:
        target = target.unsqueeze(1)
    if target.dim() != 4 or target.shape[1] != 1:
        raise ValueError(f'target must be (B, 1, H, W) or (B, H, W), got {tuple(target.shape)}')
    target = target.to(like.dtype)
    if target.numel() and (target.min() < 0 or target.max() > 1):
        raise ValueError(
            f'target values must lie in [0, 1], got range [{target.min().item()}, {target.max().item()}]; '
            'masks stored as 0/255 must be divided by 255 (use LoadSalientMask), and mmseg\'s '
            'ignore_index=255 is not supported by this loss')
    return target


def basnet_hybrid_loss(logits: Tensor | Sequence[Tensor], target: Tensor, eps: float = 1e-6,
                       bce_weight: float = 1.0, ssim_weight: float = 1.0,
                       iou_weight: float = 1.0) -> Tensor:
    """Per-image hybrid loss summed over the outputs.

    Args:
        logits: One (B, 1, H, W) logit map or a sequence of them (BASNet: 8, refined first).  Maps of a
            different size from ``target`` are resized bilinearly to it.
        target: (B, 1, H, W) or (B, H, W) ground truth in [0, 1] (soft values allowed).
        eps: Added to the IoU denominator.
        bce_weight, ssim_weight, iou_weight: Term weights (all 1 in the paper).

    Returns:
        Tensor: (B,) loss of each image, ``sum_k [bce_k + (1 - ssim_k) + iou_k]``.
    """
    if isinstance(logits, Tensor):
        logits = [logits]
    if len(logits) == 0:
        raise ValueError('logits must hold at least one (B, 1, H, W) map')
    target = _as_target(target, logits[0])
    total = logits[0].new_zeros(target.shape[0])
    for logit in logits:
        if logit.dim() != 4 or logit.shape[1] != 1:
            raise ValueError(f'each logit map must be (B, 1, H, W), got {tuple(logit.shape)}')
        if logit.shape[0] != target.shape[0]:
            raise ValueError(f'batch sizes differ: logits {logit.shape[0]} vs target {target.shape[0]}')
        if logit.shape[-2:] != target.shape[-2:]:
            logit = F.interpolate(logit, size=target.shape[-2:], mode='bilinear', align_corners=False)
        bce, ssim, iou = _hybrid_terms(logit.float(), target.float(), eps)
        total = total + bce_weight * bce + ssim_weight * ssim + iou_weight * iou
    return total


@MODELS.register_module()
class BASNetHybridLoss(BaseLoss):
    """BCE + (1 - SSIM) + IoU hybrid loss of BASNet (CVPR 2019, Eq. 1-5), summed over all outputs.

    Usable as the loss of BASNet (eight outputs) and as ``loss_decode`` of any binary mmseg decode head
    (``out_channels=1``), provided the ground truth reaches it in [0, 1] (``LoadSalientMask`` +
    ``PackSalientInputs``).

    Args:
        loss_weight: Multiplier of the total.
        reduction: ``'none'`` (per image, (B,)), ``'mean'`` or ``'sum'`` over the batch.
        eps: IoU denominator epsilon (absent in the official code, see module docstring).
        bce_weight, ssim_weight, iou_weight: Term weights (all 1 in the paper).
        loss_name: Name of the loss item; must start with ``loss_``.
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean', eps: float = 1e-6,
                 bce_weight: float = 1.0, ssim_weight: float = 1.0, iou_weight: float = 1.0,
                 loss_name: str = 'loss_basnet') -> None:
        super().__init__(loss_weight, reduction, loss_name)
        self.eps = eps
        self.bce_weight, self.ssim_weight, self.iou_weight = bce_weight, ssim_weight, iou_weight

    def forward(self, logits: Tensor | Sequence[Tensor], target: Tensor, weight: Tensor | None = None,
                avg_factor: float | None = None, reduction_override: str | None = None,
                ignore_index: int | None = None, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            logits: (B, 1, H, W) logits or a sequence of them.
            target: (B, 1, H, W) or (B, H, W) in [0, 1].
            weight: Optional (B,) per-image weight.
            avg_factor: Divide the summed loss by this instead of B (``reduction='mean'``).
            reduction_override: Overrides ``reduction``.
            ignore_index: Accepted for mmseg decode-head compatibility; targets must be in [0, 1], so
                it never matches a pixel (checked).
        """
        reduction = reduction_override or self.reduction
        loss = basnet_hybrid_loss(logits, target, self.eps, self.bce_weight, self.ssim_weight,
                                  self.iou_weight)
        if weight is not None:
            if weight.numel() != loss.numel():
                raise ValueError(f'weight must be per image with shape ({loss.numel()},), '
                                 f'got {tuple(weight.shape)}')
            weight = weight.reshape(-1).to(loss)
        out = weight_reduce_loss(loss, weight, reduction, avg_factor)
        return self.loss_weight * out
