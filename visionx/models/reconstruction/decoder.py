"""GridFormer's multi-level local implicit decoder (METHODS.md §1.3.5; ConvONet's ``LocalDecoder`` with
GridFormer's per-level fusion MLPs)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from visionx.registry import MODELS
from .common import normalize_coordinate, sample_feature


class ResnetBlockFC(nn.Module):
    """``x + fc_1(ReLU(fc_0(ReLU(x))))`` with ``fc_1`` initialised to zero (Occupancy Networks)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.fc_0 = nn.Linear(size, size)
        self.fc_1 = nn.Linear(size, size)
        nn.init.zeros_(self.fc_1.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc_1(F.relu(self.fc_0(F.relu(x))))


@MODELS.register_module()
class LocalDecoder(BaseModule):
    """Occupancy logits of query points from multi-level plane / volume features.

    For level i the features of every key (planes or ``'grid'``) are sampled at the query and summed,
    s_i(q); ``c(q) = sum_i MLP_i(s_i)`` with ``MLP_i = Linear(C_i -> 2h) -> ReLU -> Linear(2h -> h)``; then
    ``h = Linear(3 -> h)(q)`` and ``n_blocks`` times ``h <- ResBlockFC(h + Linear(c))``; the logit is
    ``Linear(h -> 1)(ReLU(h))``.

    Args:
        in_channels: Widths of the feature levels (paper: (128, 64, 32)).
        hidden_size: h (paper: 32).
        n_blocks: Number of residual blocks (paper: 5).
        padding: Box padding of the coordinate normalisation.
        init_cfg: MMEngine init config.
    """

    def __init__(self, in_channels: Sequence[int] = (128, 64, 32), hidden_size: int = 32, n_blocks: int = 5,
                 padding: float = 0.1, init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        self.padding = padding
        self.fc_c = nn.ModuleList(nn.Linear(hidden_size, hidden_size) for _ in range(n_blocks))
        self.fc_multi = nn.ModuleList(
            nn.Sequential(nn.Linear(c, 2 * hidden_size), nn.ReLU(), nn.Linear(2 * hidden_size, hidden_size))
            for c in in_channels)
        self.fc_p = nn.Linear(3, hidden_size)
        self.blocks = nn.ModuleList(ResnetBlockFC(hidden_size) for _ in range(n_blocks))
        self.fc_out = nn.Linear(hidden_size, 1)

    def forward(self, points: torch.Tensor, features: list[dict[str, torch.Tensor]]) -> torch.Tensor:
        """Args: points (B, M, 3) queries; features: one ``{key: grid}`` dict per level.

        Returns: logits (B, M).
        """
        if len(features) != len(self.fc_multi):
            raise ValueError(f'expected {len(self.fc_multi)} feature levels, got {len(features)}')
        c = 0
        for mlp, level in zip(self.fc_multi, features):
            s = 0
            for key, feat in level.items():
                s = s + sample_feature(normalize_coordinate(points, key, self.padding), feat)
            c = c + mlp(s.transpose(1, 2))
        net = self.fc_p(points.float())
        for fc_c, block in zip(self.fc_c, self.blocks):
            net = block(net + fc_c(c))
        return self.fc_out(F.relu(net)).squeeze(-1)
