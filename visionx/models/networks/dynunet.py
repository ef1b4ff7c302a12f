"""MONAI's ``DynUNet`` (nnU-Net) as a registered network returning its deep-supervision outputs as a list.

TopoMortar (BMVC 2025, METHODS §3.3) trains it with :class:`~visionx.models.segmentors.DeepSupervisionSegmentor`.
"""
from __future__ import annotations

from typing import Sequence

import torch
from mmengine.model import BaseModule

from visionx.registry import MODELS


@MODELS.register_module()
class MonaiDynUNet(BaseModule):
    """MONAI ``DynUNet`` returning a list of logit maps: the main output, then the auxiliary ones.

    Defaults follow TopoMortar: 2-D, 3 -> 2 channels, kernel 3 at 8 levels, strides [1, 2, ..., 2],
    transposed-conv upsampling (kernel 2), filters min(2^(5+i), 512), instance norm, LeakyReLU(0.01),
    deep supervision with 6 heads (interpolated to full resolution by MONAI).  In eval mode only the main
    output is returned.

    Args:
        spatial_dims: 2 or 3.
        in_channels: input channels.
        out_channels: classes (1 for sigmoid outputs).
        kernel_size: per-level kernel sizes (defaults to 3 at ``num_levels``).
        strides: per-level strides (defaults to [1] + [2] * (num_levels - 1)).
        num_levels: used when ``kernel_size``/``strides`` are not given (8 for 512-px TopoMortar images).
        filters: per-level widths (MONAI's nnU-Net rule when ``None``).
        deep_supervision: return auxiliary outputs in training mode.
        deep_supr_num: number of auxiliary outputs (must be < num_levels - 1).
        norm_name: MONAI norm spec; MONAI's ``DynUNet`` default, instance norm with affine parameters, as
            TopoMortar's config leaves it.
    """

    def __init__(self, spatial_dims: int = 2, in_channels: int = 3, out_channels: int = 2,
                 kernel_size: Sequence[int] | None = None, strides: Sequence[int] | None = None,
                 num_levels: int = 8, filters: Sequence[int] | None = None, deep_supervision: bool = True,
                 deep_supr_num: int = 6, norm_name: str | tuple = ('INSTANCE', {'affine': True}),
                 res_block: bool = False,
                 init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg)
        from monai.networks.nets import DynUNet
        kernel_size = list(kernel_size or [3] * num_levels)
        strides = list(strides or [1] + [2] * (num_levels - 1))
        if len(kernel_size) != len(strides):
            raise ValueError(f'kernel_size and strides need one entry per level, got {kernel_size}, {strides}')
        if deep_supervision and not 1 <= deep_supr_num < len(strides) - 1:
            raise ValueError(f'deep_supr_num must be in [1, {len(strides) - 2}] for {len(strides)} levels, '
                             f'got {deep_supr_num}')
        self.deep_supervision = deep_supervision
        self.out_channels = out_channels
        self.size_divisor = int(torch.tensor(strides).prod())
        self.net = DynUNet(spatial_dims, in_channels, out_channels, kernel_size, strides, strides[1:],
                           filters=list(filters) if filters else None, norm_name=norm_name,
                           deep_supervision=deep_supervision, deep_supr_num=deep_supr_num,
                           res_block=res_block)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B, C_in, H, W) -> list of (B, C_out, H, W); H, W divisible by :attr:`size_divisor`."""
        out = self.net(x)
        if self.training and self.deep_supervision:
            return list(out.unbind(1))
        return [out]
