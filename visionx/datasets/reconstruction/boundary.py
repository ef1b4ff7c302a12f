"""Boundary ("contrastive") query points of GridFormer's stage 2 (METHODS.md §1.4).

A query point is a boundary point if any of its (up to ``k``) neighbours within ``radius`` among the uniform
query points has a different occupancy label.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def boundary_mask(points: np.ndarray, occupancies: np.ndarray, radius: float = 0.08,
                  k: int = 100) -> np.ndarray:
    """Boundary flags of query points.

    Args:
        points: (N, 3) query points.
        occupancies: (N,) occupancy labels (bool or {0, 1}).
        radius: Neighbourhood radius (paper: 0.08).
        k: Maximum number of neighbours (paper: 100), the point itself included.

    Returns:
        (N,) uint8, 1 where some neighbour has the other label.
    """
    points = np.asarray(points, np.float64)
    occ = np.asarray(occupancies).astype(bool).reshape(-1)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) != len(occ):
        raise ValueError(f'points must be (N, 3) and occupancies (N,); got {points.shape} and {occ.shape}')
    if len(points) == 0:
        return np.zeros(0, np.uint8)
    _, idx = cKDTree(points).query(points, k=min(k, len(points)), distance_upper_bound=radius)
    idx = idx.reshape(len(points), -1)
    # Missing neighbours come back as index N; give them the query point's own label.
    padded = np.concatenate([occ, [False]])
    labels = padded[idx]
    labels = np.where(idx == len(points), occ[:, None], labels)
    return (labels != occ[:, None]).any(1).astype(np.uint8)
