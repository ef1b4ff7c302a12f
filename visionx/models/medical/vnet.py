"""V-Net as used by TraCoCo (and UA-MT / MC-Net) for LA and Pancreas-CT.

Reference: Milletari et al., "V-Net: Fully Convolutional Neural Networks for Volumetric Medical Image
Segmentation", 3DV 2016; the layer list follows the semi-supervised medical segmentation line of work used
by TraCoCo (Liu et al., "Translation Consistent Semi-supervised Segmentation for 3D Medical Images",
arXiv 2203.14523), see ``docs/METHODS.md`` part B §2.1.

The blocks are MONAI :class:`~monai.networks.blocks.Convolution` layers with ``adn_ordering='NA'``, which
reproduce the official ``conv -> BatchNorm3d -> ReLU`` order exactly (conv bias kept, as in the official
code).
"""
from __future__ import annotations

import torch
from mmengine.model import BaseModule
from monai.networks.blocks import Convolution
from torch import nn

from visionx.registry import MODELS


def _conv(in_ch: int, out_ch: int, kernel: int, stride: int, norm: str | None,
          transposed: bool = False) -> Convolution:
    return Convolution(
        spatial_dims=3, in_channels=in_ch, out_channels=out_ch, kernel_size=kernel, strides=stride,
        act='relu', norm=norm, adn_ordering='NA' if norm else 'A', bias=True, is_transposed=transposed,
        padding=(kernel - 1) // 2 if kernel > 1 and stride == 1 else 0,
        output_padding=0 if transposed else None)


def _stage(n_convs: int, in_ch: int, out_ch: int, norm: str | None) -> nn.Sequential:
    """``n_convs`` × (conv3³ + norm + ReLU); the first conv maps ``in_ch -> out_ch``."""
    return nn.Sequential(*[_conv(in_ch if i == 0 else out_ch, out_ch, 3, 1, norm) for i in range(n_convs)])


@MODELS.register_module()
class VNet(BaseModule):
    """Five-level V-Net with additive skips (TraCoCo / UA-MT variant).

    Encoder stages hold 1, 2, 3, 3, 3 convolutions at ``base_channels × (1, 2, 4, 8, 16)``; each
    down-sampling is a 2³ stride-2 convolution, each up-sampling a 2³ stride-2 transposed convolution
    (both + norm + ReLU); decoder stages hold 3, 3, 2, 1 convolutions and the skip is *added* to the
    up-sampled features.  ``Dropout3d(0.5)`` follows the bottleneck and the last decoder stage.

    Args:
        in_channels: Input channels (1 for LA / Pancreas).
        num_classes: Output classes (2).
        base_channels: Channels of the first stage (16 in the paper).
        norm: ``'batch'`` (paper), ``'instance'``, ``'group'`` or ``None``.
        has_dropout: Apply ``Dropout3d(dropout)`` after the bottleneck and the last decoder stage.
        dropout: Drop probability (0.5 in the official code).
        init_cfg: MMEngine initialisation config.

    Input ``(B, in_channels, X, Y, Z)`` with every spatial size divisible by 16; output logits
    ``(B, num_classes, X, Y, Z)``.  (The official ``forward`` returns ``(logits, None)``; here only the
    logits are returned.)
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, base_channels: int = 16,
                 norm: str | None = 'batch', has_dropout: bool = True, dropout: float = 0.5,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        c = [base_channels * 2**i for i in range(5)]
        self.num_classes = num_classes
        self.enc1 = _stage(1, in_channels, c[0], norm)
        self.down1 = _conv(c[0], c[1], 2, 2, norm)
        self.enc2 = _stage(2, c[1], c[1], norm)
        self.down2 = _conv(c[1], c[2], 2, 2, norm)
        self.enc3 = _stage(3, c[2], c[2], norm)
        self.down3 = _conv(c[2], c[3], 2, 2, norm)
        self.enc4 = _stage(3, c[3], c[3], norm)
        self.down4 = _conv(c[3], c[4], 2, 2, norm)
        self.enc5 = _stage(3, c[4], c[4], norm)
        self.up5 = _conv(c[4], c[3], 2, 2, norm, transposed=True)
        self.dec4 = _stage(3, c[3], c[3], norm)
        self.up4 = _conv(c[3], c[2], 2, 2, norm, transposed=True)
        self.dec3 = _stage(3, c[2], c[2], norm)
        self.up3 = _conv(c[2], c[1], 2, 2, norm, transposed=True)
        self.dec2 = _stage(2, c[1], c[1], norm)
        self.up2 = _conv(c[1], c[0], 2, 2, norm, transposed=True)
        self.dec1 = _stage(1, c[0], c[0], norm)
        self.dropout = nn.Dropout3d(dropout) if has_dropout else nn.Identity()
        self.out_conv = nn.Conv3d(c[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f'VNet expects a (B, C, X, Y, Z) volume batch, got shape {tuple(x.shape)}')
        if any(s % 16 for s in x.shape[2:]):
            raise ValueError(f'VNet needs spatial sizes divisible by 16, got {tuple(x.shape[2:])}')
        x1 = self.enc1(x)
        x2 = self.enc2(self.down1(x1))
        x3 = self.enc3(self.down2(x2))
        x4 = self.enc4(self.down3(x3))
        x5 = self.dropout(self.enc5(self.down4(x4)))
        y = self.dec4(self.up5(x5) + x4)
        y = self.dec3(self.up4(y) + x3)
        y = self.dec2(self.up3(y) + x2)
        y = self.dropout(self.dec1(self.up2(y) + x1))
        return self.out_conv(y)
