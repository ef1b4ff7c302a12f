"""Coordinate conventions shared by GridFormer's encoder, decoder and mesh extraction.

Shapes live in the unit cube [-0.5, 0.5]^3; the feature box is padded by ``padding = 0.1`` to
[-0.55, 0.55]^3 (ConvONet / GridFormer convention, METHODS.md §1.2).

* plane coordinates: ``u = p_2d / (1 + padding + 1e-5) + 0.5`` clipped to [0, 1 - 1e-5];
* volume coordinates: ``u = p / (1 + padding + 1e-3) + 0.5`` clipped to [0, 1 - 1e-3] (note the different
  epsilon, kept for bit-compatibility with official checkpoints);
* cell index at resolution R: ``floor(u0 R) + R floor(u1 R)`` (2D) and
  ``floor(u0 R) + R (floor(u1 R) + R floor(u2 R))`` (3D) - the first coordinate is the fastest index, so in a
  (H, W) tensor W <-> u0 and in (D, H, W) W <-> u0;
* grid -> point sampling: ``grid_sample(bilinear, border, align_corners=True)`` at ``2u - 1``.

The floor-cell scattering vs. align-corners sampling half-cell mismatch is inherited from ConvONet and kept.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

PLANE_DIMS = {'xz': (0, 2), 'xy': (0, 1), 'yz': (1, 2)}


def normalize_plane_coordinate(p: torch.Tensor, plane: str, padding: float = 0.1) -> torch.Tensor:
    """Project points onto ``plane`` and map them to [0, 1).

    Args:
        p: Points (B, N, 3) in the padded unit cube.
        plane: ``'xz'``, ``'xy'`` or ``'yz'``.
        padding: Box padding.

    Returns:
        (B, N, 2) coordinates in [0, 1 - 1e-5].
    """
    if plane not in PLANE_DIMS:
        raise ValueError(f'plane must be one of {sorted(PLANE_DIMS)}, got {plane!r}')
    uv = p[..., list(PLANE_DIMS[plane])] / (1 + padding + 1e-5) + 0.5
    return uv.clamp(0.0, 1 - 1e-5)


def normalize_volume_coordinate(p: torch.Tensor, padding: float = 0.1) -> torch.Tensor:
    """Map points (B, N, 3) to [0, 1 - 1e-3]^3 (volume convention)."""
    return (p / (1 + padding + 1e-3) + 0.5).clamp(0.0, 1 - 1e-3)


def normalize_coordinate(p: torch.Tensor, key: str, padding: float = 0.1) -> torch.Tensor:
    """Normalised coordinates of ``p`` (B, N, 3) for a plane key or ``'grid'`` -> (B, N, 2|3)."""
    if key == 'grid':
        return normalize_volume_coordinate(p, padding)
    return normalize_plane_coordinate(p, key, padding)


def coordinate_to_index(u: torch.Tensor, resolution: int) -> torch.Tensor:
    """Flat cell index of normalised coordinates ``u`` (B, N, 2|3) -> (B, N) int64."""
    cells = (u * resolution).long()
    index = cells[..., 0] + resolution * cells[..., 1]
    if u.shape[-1] == 3:
        index = cells[..., 0] + resolution * (cells[..., 1] + resolution * cells[..., 2])
    return index


def sample_feature(u: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
    """Bilinear / trilinear sample of ``feature`` at normalised coordinates.

    Args:
        u: (B, N, 2) for planes (B, C, R, R) or (B, N, 3) for volumes (B, C, R, R, R).
        feature: Grid features.

    Returns:
        (B, C, N) sampled features.
    """
    vgrid = 2.0 * u - 1.0
    if feature.dim() == 4:
        out = F.grid_sample(feature, vgrid[:, :, None], mode='bilinear', padding_mode='border',
                            align_corners=True)
        return out.squeeze(-1)
    out = F.grid_sample(feature, vgrid[:, :, None, None], mode='bilinear', padding_mode='border',
                        align_corners=True)
    return out.squeeze(-1).squeeze(-1)
