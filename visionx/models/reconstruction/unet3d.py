"""GridFormer's volume point-grid U-Net (METHODS.md §1.3.4), a 3D U-Net (Cicek et al. 2016, layer order
GroupNorm -> Conv3d -> ReLU) whose levels end with a point-grid attention layer.

Widths f = (s, 2s, 4s, 8s) (paper: s = 32) at resolutions (R, R, R/2, R/4) (paper: R = 64).
Encoder level: (MaxPool3d at the last two levels) -> DoubleConv -> attention ->
``G_out = ReLU(Conv3x3(G')) + Conv3x3(G)``.  Decoder level: nearest upsampling to the skip size (first two),
concat [skip, up] -> DoubleConv -> attention -> ``G_out = Conv1x1+BN(DW3x3(DW3x3(G')) + Conv3x3(G))``.  The
last decoder level neither upsamples nor attends (its attention weights exist for checkpoint
compatibility).  Output: ``[{'grid': 4s @ R/2}, {'grid': 2s @ R}, {'grid': s @ R}]``.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from visionx.registry import MODELS
from .common import normalize_volume_coordinate, sample_feature
from .point_grid_attention import PointGridAttention


class _SingleConv(nn.Sequential):
    """GroupNorm -> Conv3d (no bias) -> ReLU (order ``'gcr'``)."""

    def __init__(self, cin: int, cout: int, num_groups: int = 8) -> None:
        super().__init__()
        self.add_module('groupnorm', nn.GroupNorm(num_groups if cin >= num_groups else 1, cin))
        self.add_module('conv', nn.Conv3d(cin, cout, 3, padding=1, bias=False))
        self.add_module('ReLU', nn.ReLU(inplace=True))


class _DoubleConv(nn.Sequential):
    """Two single convs; in the encoder the first one outputs ``max(out // 2, in)`` channels."""

    def __init__(self, cin: int, cout: int, encoder: bool, num_groups: int = 8) -> None:
        super().__init__()
        mid = max(cout // 2, cin) if encoder else cout
        self.add_module('SingleConv1', _SingleConv(cin, mid, num_groups))
        self.add_module('SingleConv2', _SingleConv(mid, cout, num_groups))


def _sample_volume(points: torch.Tensor, grid: torch.Tensor, padding: float) -> torch.Tensor:
    return sample_feature(normalize_volume_coordinate(points, padding), grid).transpose(1, 2)


class EncoderLevel3D(PointGridAttention):
    """One encoder level of the volume U-Net."""

    def __init__(self, in_channels: int, point_channels: int, channels: int, pooling: bool,
                 num_groups: int = 8, padding: float = 0.1) -> None:
        super().__init__(point_channels, channels, dim=3, padding=padding)
        self.pooling = pooling
        self.basic_module = _DoubleConv(in_channels, channels, encoder=True, num_groups=num_groups)
        self.weight_conv = nn.Sequential(nn.Conv3d(channels, channels, 3, padding=1), nn.ReLU())
        self.conv1x1 = nn.Conv3d(channels, channels, 3, padding=1)

    def forward(self, points: torch.Tensor, grid: torch.Tensor,
                feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: points (B, N, 3), grid (B, C_in, R, R, R), feats (B, N, C_p). Returns grid, feats."""
        if self.pooling:
            grid = F.max_pool3d(grid, 2)
        grid = self.basic_module(grid)
        k, v = self.project_points(feats)
        out = self.weight_conv(self.aggregate(points, 'grid', k, v, grid)) + self.conv1x1(grid)
        return out, v + _sample_volume(points, out, self.padding)


class DecoderLevel3D(PointGridAttention):
    """One decoder level of the volume U-Net."""

    def __init__(self, point_channels: int, in_channels: int, channels: int, upsample: bool,
                 attention: bool, num_groups: int = 8, padding: float = 0.1) -> None:
        super().__init__(point_channels, channels, dim=3, padding=padding)
        self.upsample = upsample
        self.attention = attention
        self.basic_module = _DoubleConv(in_channels, channels, encoder=False, num_groups=num_groups)
        self.conv1x1 = nn.Conv3d(channels, channels, 3, padding=1)
        self.weight_conv = nn.Sequential(
            nn.Conv3d(channels, channels, 3, padding=1, bias=False, groups=channels),
            nn.Conv3d(channels, channels, 3, padding=1, bias=False, groups=channels))
        self.conv_final = nn.Sequential(nn.Conv3d(channels, channels, 1), nn.BatchNorm3d(channels))

    def forward(self, points: torch.Tensor, skip: torch.Tensor, grid: torch.Tensor,
                feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.upsample:
            grid = F.interpolate(grid, size=skip.shape[2:], mode='nearest')
        grid = self.basic_module(torch.cat([skip, grid], 1))
        if not self.attention:
            return grid, feats
        k, v = self.project_points(feats)
        attn = self.weight_conv(self.aggregate(points, 'grid', k, v, grid))
        out = self.conv_final(attn + self.conv1x1(grid))
        return out, v + _sample_volume(points, out, self.padding)


@MODELS.register_module()
class PointGridUNet3D(BaseModule):
    """Volume point-grid U-Net.

    Args:
        in_channels: Width of the stem features (32 in the paper).
        base_channels: ``f_maps`` (32 in the paper).
        num_groups: GroupNorm groups.
        padding: Box padding.
        init_cfg: MMEngine init config (PyTorch default init otherwise, as the official code).

    Inputs: points (B, N, 3), ``{'grid': (B, in_channels, R, R, R)}``, point feats (B, N, in_channels).
    """

    def __init__(self, in_channels: int = 32, base_channels: int = 32, num_groups: int = 8,
                 padding: float = 0.1, init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        f = [base_channels * 2 ** i for i in range(4)]
        # The official code feeds ``in_channels`` to the second encoder too (equal to f[0] in its config).
        grid_in = [in_channels, f[0], f[1], f[2]]
        point_in = [in_channels, f[0], f[1], f[2]]
        self.encoders = nn.ModuleList(
            EncoderLevel3D(grid_in[i], point_in[i], f[i], pooling=i >= 2, num_groups=num_groups,
                           padding=padding) for i in range(4))
        rev = f[::-1]
        self.decoders = nn.ModuleList(
            DecoderLevel3D(rev[i], rev[i] + rev[i + 1], rev[i + 1], upsample=i < 2, attention=i < 2,
                           num_groups=num_groups, padding=padding) for i in range(3))
        self.out_channels: Sequence[int] = [f[2], f[1], f[0]]

    def forward(self, points: torch.Tensor, grids: dict[str, torch.Tensor],
                feats: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        grid = grids['grid']
        skips = []
        for level in self.encoders:
            grid, feats = level(points, grid, feats)
            skips.append(grid)
        outs = []
        for i, level in enumerate(self.decoders):
            grid, feats = level(points, skips[-(i + 2)], grid, feats)
            outs.append({'grid': grid})
        return outs
