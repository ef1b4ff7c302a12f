"""3D U-Net used by TraCoCo for BraTS19 (the ``unet_3D`` of Attention-Gated-Networks).

Reference: Çiçek et al., "3D U-Net", MICCAI 2016; Oktay et al., "Attention U-Net", MIDL 2018 (the code
base TraCoCo's BraTS model comes from); TraCoCo, arXiv 2203.14523.  See ``docs/METHODS.md`` part B §2.1.

Facts reproduced: ``feature_scale=4`` gives channels (16, 32, 64, 128, 256); every stage is two
``conv3³ -> InstanceNorm3d -> ReLU`` (the official flag is called ``is_batchnorm`` but builds instance
norm, without affine parameters); 2³ max-pooling; the decoder up-samples trilinearly ×2, concatenates
``[skip, up]`` and applies a two-conv stage; ``Dropout(0.3)`` on the bottleneck and on the last decoder
output; 1³ output conv; Kaiming-normal initialisation of the convolutions.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from monai.networks.blocks import Convolution
from torch import nn

from visionx.registry import MODELS


def _double_conv(in_ch: int, out_ch: int, norm: str) -> nn.Sequential:
    return nn.Sequential(*[
        Convolution(3, in_ch if i == 0 else out_ch, out_ch, kernel_size=3, act='relu', norm=norm,
                    adn_ordering='NA', bias=True) for i in range(2)
    ])


@MODELS.register_module()
class MedicalUNet3D(BaseModule):
    """Five-level 3D U-Net with concatenating skips and trilinear up-sampling.

    Args:
        in_channels: Input channels (1 for the BraTS FLAIR protocol).
        num_classes: Output classes (2).
        base_channels: Channels of the first stage (``64 // feature_scale`` = 16 in TraCoCo).
        norm: ``'instance'`` (official behaviour), ``'batch'`` or ``'group'``.
        dropout: Probability of the two ``nn.Dropout`` layers (0.3).
        init_cfg: MMEngine initialisation config; defaults to Kaiming-normal convolutions.

    Input ``(B, in_channels, X, Y, Z)`` with sizes divisible by 16; output logits
    ``(B, num_classes, X, Y, Z)``.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, base_channels: int = 16,
                 norm: str = 'instance', dropout: float = 0.3,
                 init_cfg: dict | list | None = dict(type='Kaiming', layer='Conv3d', mode='fan_in')) -> None:
        super().__init__(init_cfg)
        c = [base_channels * 2**i for i in range(5)]
        self.num_classes = num_classes
        self.enc = nn.ModuleList([_double_conv(in_channels if i == 0 else c[i - 1], c[i], norm)
                                  for i in range(4)])
        self.center = _double_conv(c[3], c[4], norm)
        # Stage i of the decoder sees [skip c[i], up c[i+1]] -> c[i].
        self.dec = nn.ModuleList([_double_conv(c[i] + c[i + 1], c[i], norm) for i in range(4)])
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.final = nn.Conv3d(c[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f'MedicalUNet3D expects a (B, C, X, Y, Z) volume batch, got shape {tuple(x.shape)}')
        if any(s % 16 for s in x.shape[2:]):
            raise ValueError(f'MedicalUNet3D needs spatial sizes divisible by 16, got {tuple(x.shape[2:])}')
        skips = []
        for stage in self.enc:
            x = stage(x)
            skips.append(x)
            x = F.max_pool3d(x, 2)
        x = self.dropout1(self.center(x))
        for stage, skip in zip(reversed(self.dec), reversed(skips)):
            up = F.interpolate(x, scale_factor=2, mode='trilinear')
            x = stage(torch.cat([skip, up], dim=1))
        return self.final(self.dropout2(x))
