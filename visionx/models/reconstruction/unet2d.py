"""GridFormer's 3-plane point-grid U-Net (METHODS.md §1.3.3).

Four encoder levels at resolutions (R, R, R/2, R/4) with widths (s, 2s, 4s, 8s) (paper: R = 64, s = 32) and
three decoder levels; every level but the last decoder one ends with a point-grid attention layer
(:class:`~.point_grid_attention.PointGridAttention`).  The official code hard-codes R = 64 and depth 4; here
R and s are arguments (the demo config uses smaller values), depth stays 4.

Encoder level: ``G = ReLU(Conv3x3+BN -> ReLU -> Conv3x3+BN)(G)`` (after MaxPool2 at the last two levels), then
``G_out = ReLU(Conv3x3(G')) + Conv3x3(G)``.  Decoder level: ConvTranspose2x2 (or Conv1x1+BN at the last
level, where the resolution is already R), concat with the skip, ``ReLU(Conv3x3+BN)``, then
``G_out = Conv1x1+BN(DW3x3(DW3x3(G')) + Conv3x3(G))``.  The last decoder level returns right after its
convolution, so its attention weights are created (for checkpoint compatibility) but never used.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from visionx.registry import MODELS
from .common import normalize_coordinate, sample_feature
from .point_grid_attention import PointGridAttention

Planes = dict[str, torch.Tensor]


def _conv_bn(cin: int, cout: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=kernel // 2), nn.BatchNorm2d(cout))


def _sample_points(points: torch.Tensor, planes: Planes, padding: float) -> torch.Tensor:
    """Sum over planes of the bilinear samples at the points -> (B, N, C)."""
    out = 0
    for key, feat in planes.items():
        out = out + sample_feature(normalize_coordinate(points, key, padding), feat)
    return out.transpose(1, 2)


class DownLevel2D(PointGridAttention):
    """One encoder level (conv block + point-grid attention) shared by the three planes."""

    def __init__(self, in_channels: int, channels: int, pooling: bool, padding: float = 0.1) -> None:
        super().__init__(in_channels, channels, dim=2, padding=padding)
        self.pooling = pooling
        self.conv1 = nn.Sequential(_conv_bn(in_channels, channels, 3), nn.ReLU(inplace=True),
                                   _conv_bn(channels, channels, 3))
        self.weight_conv = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU())
        # Named ``conv1x1`` in the official code although it is a 3x3 convolution.
        self.conv1x1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, points: torch.Tensor, planes: Planes,
                feats: torch.Tensor) -> tuple[Planes, torch.Tensor]:
        """Args: points (B, N, 3), planes {key: (B, C_in, R, R)}, feats (B, N, C_in).

        Returns: planes {key: (B, C, R', R')} and point features (B, N, C).
        """
        k, v = self.project_points(feats)
        out = {}
        for key, plane in planes.items():
            if self.pooling:
                plane = F.max_pool2d(plane, 2)
            plane = F.relu(self.conv1(plane))
            attn = self.aggregate(points, key, k, v, plane)
            out[key] = self.weight_conv(attn) + self.conv1x1(plane)
        return out, v + _sample_points(points, out, self.padding)


class UpLevel2D(PointGridAttention):
    """One decoder level: upsampling, skip concatenation, conv, optional point-grid attention."""

    def __init__(self, in_channels: int, channels: int, upsample: bool, attention: bool,
                 padding: float = 0.1) -> None:
        super().__init__(in_channels, channels, dim=2, padding=padding)
        self.upsample = upsample
        self.attention = attention
        if upsample:
            self.upconv = nn.Sequential(nn.ConvTranspose2d(in_channels, channels, 2, stride=2))
        else:
            self.upconv_noup = _conv_bn(in_channels, channels, 1)
        self.conv1 = _conv_bn(2 * channels, channels, 3)
        self.weight_conv = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False, groups=channels),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False, groups=channels))
        self.conv1x1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv_final = _conv_bn(channels, channels, 1)

    def forward(self, points: torch.Tensor, skip: Planes, planes: Planes,
                feats: torch.Tensor) -> tuple[Planes, torch.Tensor]:
        """Args: points (B, N, 3), skip {key: (B, C, R, R)}, planes from below, feats (B, N, C_in)."""
        up = self.upconv if self.upsample else self.upconv_noup
        merged = {key: F.relu(self.conv1(torch.cat([up(planes[key]), skip[key]], 1))) for key in planes}
        if not self.attention:
            return merged, feats
        k, v = self.project_points(feats)
        out = {}
        for key, plane in merged.items():
            attn = self.aggregate(points, key, k, v, plane)
            out[key] = self.conv_final(self.weight_conv(attn) + self.conv1x1(plane))
        return out, v + _sample_points(points, out, self.padding)


@MODELS.register_module()
class PointGridUNet2D(BaseModule):
    """3-plane point-grid U-Net.

    Args:
        in_channels: Width of the stem features (c_dim, 32 in the paper).
        base_channels: Width s of the first level (``start_filts``, 32 in the paper).
        padding: Box padding.
        init_cfg: MMEngine init config.  Without one, :meth:`init_weights` applies Xavier-normal to the
            weight of every ``Conv2d`` and leaves biases at PyTorch's default, as the official code.

    Inputs: points (B, N, 3), planes ``{'xz','xy','yz'}: (B, in_channels, R, R)``, point feats (B, N, c_dim).
    Output: list of three plane dicts, widths (4s, 2s, s) at resolutions (R/2, R, R).
    """

    def __init__(self, in_channels: int = 32, base_channels: int = 32, padding: float = 0.1,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        widths = [base_channels * 2 ** i for i in range(4)]
        ins = [in_channels] + widths[:-1]
        self.down_levels = nn.ModuleList(
            DownLevel2D(ins[i], widths[i], pooling=i >= 2, padding=padding) for i in range(4))
        self.up_levels = nn.ModuleList(
            UpLevel2D(widths[3 - i], widths[2 - i], upsample=i < 2, attention=i < 2, padding=padding)
            for i in range(3))
        self.out_channels: Sequence[int] = [widths[2], widths[1], widths[0]]

    def init_weights(self) -> None:
        if self.init_cfg is not None:
            return super().init_weights()
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_normal_(m.weight)

    def forward(self, points: torch.Tensor, planes: Planes, feats: torch.Tensor) -> list[Planes]:
        skips = []
        for level in self.down_levels:
            planes, feats = level(points, planes, feats)
            skips.append(planes)
        outs = []
        for i, level in enumerate(self.up_levels):
            planes, feats = level(points, skips[-(i + 2)], planes, feats)
            outs.append(planes)
        return outs
