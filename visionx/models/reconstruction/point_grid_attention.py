"""The point-grid attention of GridFormer (Li et al., "GridFormer: Point-Grid Transformer for Surface
Reconstruction", AAAI 2024), identical maths for planes (2D) and volumes (3D).

At one U-Net level with C channels, grid resolution R and sharing factor s = 8 (METHODS.md §1.3.2):

1. point projections k_p = Linear(f_p), v_p = MLP(C_in -> C -> 2C -> C)(f_p);
2. grid query Q = Conv1x1(G);
3. local position encoding e_p = Linear(ReLU(BN(Linear(delta_p)))), delta_p = u_p - floor(u_p R) / R;
4. relation r_p = k_p - Q[cell(p)] + e_p (subtraction / vector attention);
5. weights a_p = ReLU(BN(Linear(C -> C/s)(r_p)));
6. softmax of a over the points of the same cell, independently per weight channel;
7. G'_g = sum_{p in g} (v_p + e_p) * alpha_p, value channel j = i (C/s) + t using alpha_p[t]; empty cells 0.

The grid update after step 7 and the point update f_p <- v_p + sum_keys sample(G_out, u_p) differ between
encoder and decoder levels and live in the level modules (``unet2d.py`` / ``unet3d.py``).  One set of weights
is shared by the three planes; every plane is processed separately so the BatchNorm statistics match the
official code in training mode.  Parameter names follow the official code so checkpoints map 1:1.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .common import coordinate_to_index, normalize_coordinate
from .scatter import scatter_softmax, scatter_sum


class PointGridAttention(nn.Module):
    """Projections and aggregation of one point-grid transformer layer.

    Args:
        in_channels: Width C_in of the incoming point features.
        channels: Width C of the grid at this level.
        dim: 2 for planes, 3 for a volume.
        share_channels: Sharing factor s (C must be divisible by s).
        padding: Box padding of the coordinate normalisation.
    """

    def __init__(self, in_channels: int, channels: int, dim: int, share_channels: int = 8,
                 padding: float = 0.1) -> None:
        super().__init__()
        if dim not in (2, 3):
            raise ValueError(f'dim must be 2 (planes) or 3 (volume), got {dim}')
        if channels % share_channels:
            raise ValueError(f'channels ({channels}) must be divisible by share_channels ({share_channels})')
        self.channels = channels
        self.share_channels = share_channels
        self.padding = padding
        self.fc_k = nn.Sequential(nn.Linear(in_channels, channels))
        self.fc_v = nn.Sequential(
            nn.Linear(in_channels, channels), nn.ReLU(), nn.Linear(channels, 2 * channels), nn.ReLU(),
            nn.Linear(2 * channels, channels))
        conv = nn.Conv2d if dim == 2 else nn.Conv3d
        # (official 2D code: ``conv_q.0``, 3D code: ``conv_q``; the checkpoint converter maps both.)
        self.conv_q = conv(channels, channels, kernel_size=1)
        self.fc_pos = nn.Sequential(nn.Linear(dim, dim), nn.BatchNorm1d(dim), nn.ReLU(inplace=True),
                                    nn.Linear(dim, channels))
        self.fc_w = nn.Sequential(nn.Linear(channels, channels // share_channels),
                                  nn.BatchNorm1d(channels // share_channels), nn.ReLU(inplace=True))

    def project_points(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values (B, N, C) of point features (B, N, C_in)."""
        return self.fc_k(feats), self.fc_v(feats)

    def aggregate(self, points: torch.Tensor, key: str, k: torch.Tensor, v: torch.Tensor,
                  grid: torch.Tensor) -> torch.Tensor:
        """Attend from the grid cells to the points inside them.

        Args:
            points: Input points (B, N, 3).
            key: ``'xy'``, ``'xz'``, ``'yz'`` or ``'grid'``.
            k: Point keys (B, N, C).
            v: Point values (B, N, C).
            grid: Grid features (B, C, R, R) or (B, C, R, R, R) after this level's convolutions.

        Returns:
            Aggregated grid G' with the shape of ``grid``.
        """
        b, n, _ = points.shape
        c, res = grid.shape[1], grid.shape[-1]
        cells = res ** (grid.dim() - 2)
        u = normalize_coordinate(points, key, self.padding)
        index = coordinate_to_index(u, res)                                   # (B, N)
        offset = u - (u * res).floor() / res
        pos = self.fc_pos(offset.reshape(b * n, -1)).reshape(b, n, c)         # (B, N, C)
        query = self.conv_q(grid).reshape(b, c, cells)
        query = query.gather(-1, index.unsqueeze(1).expand(-1, c, -1)).transpose(1, 2)  # (B, N, C)
        weight = self.fc_w((k - query + pos).reshape(b * n, c)).reshape(b, n, -1)
        weight = scatter_softmax(weight.transpose(1, 2), index, cells)        # (B, C/s, N)
        value = (v + pos).reshape(b, n, self.share_channels, c // self.share_channels)
        value = (value * weight.transpose(1, 2).unsqueeze(2)).reshape(b, n, c).transpose(1, 2)
        return scatter_sum(value, index, cells).reshape_as(grid)
