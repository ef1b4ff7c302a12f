"""Mesh extraction from an occupancy field.

* :func:`sparse_marching_cubes` - GridFormer's generator (POCO-style; METHODS.md §1.7): a cubic box from the
  input points, occupancy evaluated only in voxels around the input points and propagated across sign
  changes, marching cubes at p = 0.5, then vertex refinement by bisection along the voxel edge.
* :func:`mise` - ConvONet's multi-resolution iso-surface extraction (resolution 32, 2 upsampling steps,
  iso-value logit(threshold)) as an option.

Both take ``occupancy_fn(points (M, 3) float32 ndarray) -> probabilities (M,)`` and evaluate it in chunks of
``batch_points``; the network encoding is reused across all queries by the caller.  Both return
``(vertices (V, 3) float64, faces (F, 3) int64)`` in world coordinates (empty arrays if no surface).
Everything is vectorised with numpy (no Python loop over points or voxels).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import ndimage
from skimage import measure

OccupancyFn = Callable[[np.ndarray], np.ndarray]

_EMPTY = (np.zeros((0, 3), np.float64), np.zeros((0, 3), np.int64))


def _evaluate(fn: OccupancyFn, points: np.ndarray, batch_points: int) -> np.ndarray:
    out = [np.asarray(fn(points[i:i + batch_points].astype(np.float32)), np.float64).reshape(-1)
           for i in range(0, len(points), batch_points)]
    return np.concatenate(out) if out else np.zeros(0, np.float64)


def _dilate(flat_ids: np.ndarray, n: int, size: int) -> np.ndarray:
    """Flat ids of the voxels ``[c - size, c + size)`` around each voxel (official half-open window)."""
    if flat_ids.size == 0:
        return flat_ids
    coords = np.stack(np.unravel_index(flat_ids, (n, n, n)), 1)
    rng = np.arange(-size, size)
    offsets = np.stack(np.meshgrid(rng, rng, rng, indexing='ij'), -1).reshape(-1, 3)
    nb = (coords[:, None, :] + offsets[None]).reshape(-1, 3)
    nb = nb[((nb >= 0) & (nb < n)).all(1)]
    return np.unique(np.ravel_multi_index(nb.T, (n, n, n)))


def sparse_marching_cubes(occupancy_fn: OccupancyFn, input_points: np.ndarray, resolution: int = 256,
                          padding: int = 1, dilation: int = 2, refine_iters: int = 10,
                          batch_points: int = 50000) -> tuple[np.ndarray, np.ndarray]:
    """GridFormer's sparse marching cubes.

    Args:
        occupancy_fn: Occupancy probability of world points.
        input_points: (N, 3) input point cloud that seeds the evaluation and defines the cubic box
            ``[min, max]`` over all coordinates.
        resolution: Voxels per side of the box (paper: 256).
        padding: Voxels of padding on each side (set to "outside" before marching cubes).
        dilation: Seed neighbourhood ``[c - dilation, c + dilation)``.
        refine_iters: Bisection steps of vertex refinement (paper: 10; 0 disables).
        batch_points: Query chunk size.

    Returns:
        vertices (V, 3), faces (F, 3).

    Deviation: the official loop re-evaluates every voxel of each dilated mask; here only voxels not yet
    evaluated are queried (the network is deterministic in eval mode, so the volume is identical).
    """
    pts = np.asarray(input_points, np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) == 0:
        raise ValueError(f'input_points must be (N, 3) with N > 0, got shape {pts.shape}')
    bmin, bmax = pts.min(), pts.max()
    if not bmax > bmin:
        raise ValueError('input_points span an empty box (all coordinates identical)')
    step = (bmax - bmin) / (resolution - 1)
    n = resolution + 2 * padding
    origin = bmin - padding * step
    volume = np.full(n ** 3, np.nan)
    seen = np.zeros(n ** 3, bool)
    ids = np.clip(((pts - bmin) / step + padding).astype(np.int64), 0, n - 1)
    seeds = np.unique(np.ravel_multi_index(ids.T, (n, n, n)))
    while seeds.size:
        block = _dilate(seeds, n, dilation)
        todo = block[np.isnan(volume[block])]
        if todo.size:
            coords = np.stack(np.unravel_index(todo, (n, n, n)), 1) * step + origin
            volume[todo] = 1.0 - 2.0 * _evaluate(occupancy_fn, coords, batch_points)
        seen[seeds] = True
        val = volume[seeds]
        near_neg = np.zeros(n ** 3, bool)
        near_pos = np.zeros(n ** 3, bool)
        near_neg[_dilate(seeds[val <= 0], n, dilation)] = True
        near_pos[_dilate(seeds[val >= 0], n, dilation)] = True
        with np.errstate(invalid='ignore'):
            new = ((near_neg & (volume >= 0)) | (near_pos & (volume <= 0))) & ~seen
        seeds = np.flatnonzero(new)
    volume = volume.reshape(n, n, n)
    for axis in range(3):
        index = [slice(None)] * 3
        index[axis] = slice(0, padding)
        volume[tuple(index)] = 1.0
        index[axis] = slice(n - padding, n)
        volume[tuple(index)] = 1.0
    known = volume[~np.isnan(volume)]
    if not (known.max() > 0 and known.min() < 0):
        return _EMPTY
    with np.errstate(invalid='ignore'):
        verts, faces, _, _ = measure.marching_cubes(volume, level=0.0)
    bad = np.isnan(verts).any(1)
    if bad.any():
        faces = faces[~bad[faces].any(1)]
        keep = np.zeros(len(verts), bool)
        keep[faces.reshape(-1)] = True
        remap = np.cumsum(keep) - 1
        verts, faces = verts[keep], remap[faces]
    verts = verts.astype(np.float64)
    if refine_iters > 0 and len(verts):
        verts = _refine_vertices(occupancy_fn, verts, volume, step, origin, refine_iters, batch_points)
    else:
        verts = verts * step + origin
    return verts, faces.astype(np.int64)


def _refine_vertices(fn: OccupancyFn, verts: np.ndarray, volume: np.ndarray, step: float, origin: float,
                     iters: int, batch_points: int) -> np.ndarray:
    """Bisection of each vertex along its voxel edge (vertices in index space in, world space out)."""
    frac = (verts - np.floor(verts) > 0).astype(np.float64)
    on_edge = frac.sum(1) == 1  # exactly one fractional coordinate: the vertex lies on a voxel edge
    lo_idx = np.floor(verts[on_edge]).astype(np.int64)
    hi_idx = lo_idx + frac[on_edge].astype(np.int64)
    val_lo = volume[tuple(lo_idx.T)]
    val_hi = volume[tuple(hi_idx.T)]
    ok = ~np.isnan(val_lo) & ~np.isnan(val_hi)
    which = np.flatnonzero(on_edge)[ok]
    v = verts[which] * step + origin
    lo, hi = lo_idx[ok] * step + origin, hi_idx[ok] * step + origin
    val_lo, val_hi = val_lo[ok], val_hi[ok]
    out = verts * step + origin
    for _ in range(iters):
        val = 1.0 - 2.0 * _evaluate(fn, v, batch_points)
        same_lo = val * val_lo > 0
        lo[same_lo], val_lo[same_lo] = v[same_lo], val[same_lo]
        same_hi = val * val_hi > 0
        hi[same_hi], val_hi[same_hi] = v[same_hi], val[same_hi]
        v = (lo + hi) / 2
    out[which] = v
    return out


def mise(occupancy_fn: OccupancyFn, resolution0: int = 32, upsampling_steps: int = 2,
         threshold: float = 0.2, box_size: float = 1.1, batch_points: int = 100000
         ) -> tuple[np.ndarray, np.ndarray]:
    """ConvONet's multi-resolution iso-surface extraction on the box ``[-box/2, box/2]^3``.

    Occupancy is first evaluated on a ``(resolution0 + 1)^3`` lattice; at every upsampling step the lattice
    is doubled, values are trilinearly interpolated from the coarser level and re-evaluated by the network
    at every lattice point of a cell that straddles the iso-value (and its 26 neighbours).  Marching cubes
    runs on the logits at ``logit(threshold)``.

    Deviation: libmise fills unevaluated points with the nearest evaluated parent's value; trilinear
    interpolation is used here (only affects points far from the surface, which never produce faces).
    """
    if not 0 < threshold < 1:
        raise ValueError(f'threshold must be in (0, 1), got {threshold}')
    iso = float(np.log(threshold) - np.log1p(-threshold))

    def logits(points: np.ndarray) -> np.ndarray:
        p = np.clip(_evaluate(occupancy_fn, points, batch_points), 1e-7, 1 - 1e-7)
        return np.log(p) - np.log1p(-p)

    def lattice(res: int, idx: np.ndarray) -> np.ndarray:
        return box_size * (idx / res - 0.5)

    res = resolution0
    grid = np.stack(np.meshgrid(*[np.arange(res + 1)] * 3, indexing='ij'), -1).reshape(-1, 3)
    values = logits(lattice(res, grid)).reshape(res + 1, res + 1, res + 1)
    for _ in range(upsampling_steps):
        inside = values > iso
        cells = np.zeros((res, res, res), bool)
        corners = [inside[i:i + res, j:j + res, k:k + res] for i in (0, 1) for j in (0, 1) for k in (0, 1)]
        any_in = np.logical_or.reduce(corners)
        all_in = np.logical_and.reduce(corners)
        cells = any_in & ~all_in
        # 26-neighbourhood dilation without wrapping around the box (np.roll would wake up cells on the
        # opposite face).
        active = ndimage.binary_dilation(cells, np.ones((3, 3, 3), bool))
        # Trilinear upsampling of the coarse values to the doubled lattice.
        fine_res = 2 * res
        coarse = values
        fine = np.empty((fine_res + 1,) * 3)
        fine[::2, ::2, ::2] = coarse
        fine[1::2, :, :][:, ::2, ::2] = (coarse[:-1] + coarse[1:]) / 2
        fine[:, 1::2, :][:, :, ::2] = (fine[:, :-1:2, ::2] + fine[:, 2::2, ::2]) / 2
        fine[:, :, 1::2] = (fine[:, :, :-1:2] + fine[:, :, 2::2]) / 2
        # Lattice points of the active cells at the fine resolution.
        cidx = np.argwhere(active)
        sub = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing='ij'), -1).reshape(-1, 3)
        pts = np.unique((2 * cidx[:, None, :] + sub[None]).reshape(-1, 3), axis=0)
        if len(pts):
            fine[tuple(pts.T)] = logits(lattice(fine_res, pts))
        values, res = fine, fine_res
    padded = np.pad(values, 1, constant_values=-1e6)
    if not (padded.max() > iso and padded.min() < iso):
        return _EMPTY
    verts, faces, _, _ = measure.marching_cubes(padded, level=iso)
    verts = box_size * ((verts - 1) / res - 0.5)
    return verts.astype(np.float64), faces.astype(np.int64)
