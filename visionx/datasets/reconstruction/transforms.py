"""Transforms of GridFormer's occupancy data (ConvONet / GridFormer field transforms as mmcv transforms).

Result-dict keys: ``inputs`` (N, 3) input point cloud, ``points`` (M, 3) / ``points_occ`` (M,) training
queries (``points_contrastive`` (M,) bool when boundary flags are known), ``points_iou`` (K, 3) /
``points_iou_occ`` (K,) evaluation queries, ``surface_points`` / ``surface_normals`` (S, 3) GT surface.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from visionx.registry import TRANSFORMS
from visionx.utils.errors import DataFormatError

from .boundary import boundary_mask


def _rng(results: dict) -> np.random.Generator:
    """The sample's generator (test mode: fixed per sample) or one seeded from numpy's global state, which
    MMEngine seeds per worker, so training runs are reproducible with ``randomness.seed``."""
    if results.get('_rng') is not None:
        return results['_rng']
    return np.random.default_rng(np.random.randint(0, 2**31 - 1))


@TRANSFORMS.register_module()
class SubsamplePointcloud(BaseTransform):
    """Draw ``num_points`` input points with replacement (official ``SubsamplePointcloud``).

    Required keys: inputs.  Modified keys: inputs.
    """

    def __init__(self, num_points: int = 3000) -> None:
        if num_points <= 0:
            raise ValueError(f'num_points must be positive, got {num_points}')
        self.num_points = num_points

    def transform(self, results: dict) -> dict:
        pts = results['inputs']
        if len(pts) == 0:
            raise DataFormatError(f'empty input point cloud in {results.get("model_id", "sample")}')
        results['inputs'] = pts[_rng(results).integers(0, len(pts), self.num_points)]
        return results


@TRANSFORMS.register_module()
class PointcloudNoise(BaseTransform):
    """Add Gaussian noise ``stddev * N(0, 1)`` to the input points (paper: 0.005).

    Required keys: inputs.  Modified keys: inputs.
    """

    def __init__(self, stddev: float = 0.005) -> None:
        if stddev < 0:
            raise ValueError(f'stddev must be >= 0, got {stddev}')
        self.stddev = stddev

    def transform(self, results: dict) -> dict:
        pts = results['inputs']
        results['inputs'] = (pts + self.stddev * _rng(results).standard_normal(pts.shape)).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class BoundaryPointsFilter(BaseTransform):
    """Keep only boundary query points (GridFormer's ``BoundaryPointsField``).

    Uses ``points_contrastive`` (from a precomputed ``boundary_points.npz``); when it is absent and
    ``online`` is true, the flags are computed on the fly from the query points (radius / k as the offline
    script) - slower, for data without a precomputed file.

    ``radius`` (default 0.08) and ``k`` (default 100) apply only online; with ``online=False`` the band is the
    one the precomputed files were written with (the dataset's ``boundary_dir``, e.g. ``boundary0.08``) and
    setting them is an error.

    Required keys: points, points_occ (points_contrastive).  Modified keys: points, points_occ.
    """

    def __init__(self, radius: float | None = None, k: int | None = None, online: bool = True) -> None:
        if not online and (radius is not None or k is not None):
            raise ValueError('BoundaryPointsFilter: radius / k only apply with online=True; offline, the band is '
                             "the one of the precomputed files (the dataset's boundary_dir)")
        radius = 0.08 if radius is None else float(radius)
        k = 100 if k is None else int(k)
        if radius <= 0 or k < 1:
            raise ValueError(f'BoundaryPointsFilter: need radius > 0 and k >= 1, got radius={radius}, k={k}')
        self.radius, self.k, self.online = radius, k, online

    def transform(self, results: dict) -> dict:
        mask = results.pop('points_contrastive', None)
        if mask is None:
            if not self.online:
                raise DataFormatError(f'no boundary flags for {results.get("model_id", "sample")}; run '
                                      'tools/data/gridformer_boundary_sampling.py or set online=True')
            mask = boundary_mask(results['points'], results['points_occ'], self.radius, self.k)
        mask = np.asarray(mask).astype(bool)
        if not mask.any():
            # A shape without any boundary point among the queries: keep all points rather than none.
            return results
        results['points'] = results['points'][mask]
        results['points_occ'] = results['points_occ'][mask]
        return results


@TRANSFORMS.register_module()
class SubsamplePoints(BaseTransform):
    """Draw ``num_points`` training queries with replacement (``np.random.randint`` as the official code).

    Required keys: points, points_occ.  Modified keys: points, points_occ.
    """

    def __init__(self, num_points: int = 2048) -> None:
        if num_points <= 0:
            raise ValueError(f'num_points must be positive, got {num_points}')
        self.num_points = num_points

    def transform(self, results: dict) -> dict:
        idx = _rng(results).integers(0, len(results['points']), self.num_points)
        results['points'] = results['points'][idx]
        results['points_occ'] = results['points_occ'][idx]
        return results


@TRANSFORMS.register_module()
class PackOccupancyInputs(BaseTransform):
    """Pack a sample as ``dict(inputs=(N, 3) tensor, data_samples=dict(...))`` for ``default_collate``.

    Args:
        generate_mesh: Ask the model's ``predict`` to extract a mesh (test pipelines).
        meta_keys: Metadata copied into ``data_samples``.

    Required keys: inputs.  Added keys: data_samples.
    """

    ARRAY_KEYS = ('points', 'points_occ', 'points_iou', 'points_iou_occ', 'surface_points',
                  'surface_normals')

    def __init__(self, generate_mesh: bool = False,
                 meta_keys: Sequence[str] = ('category', 'model_id', 'sample_idx')) -> None:
        self.generate_mesh = generate_mesh
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        samples = {k: torch.from_numpy(np.ascontiguousarray(results[k], dtype=np.float32))
                   for k in self.ARRAY_KEYS if k in results}
        samples.update({k: results[k] for k in self.meta_keys if k in results})
        samples['generate_mesh'] = self.generate_mesh
        inputs = torch.from_numpy(np.ascontiguousarray(results['inputs'], dtype=np.float32))
        return dict(inputs=inputs, data_samples=samples)
