"""Surface-reconstruction metrics (Occupancy Networks / ConvONet / GridFormer protocol, METHODS.md §1.8).

* :class:`OccupancyIoUMetric` - validation IoU of predicted occupancy (probability >= threshold, 0.2 in
  GridFormer) on the uniform ``points_iou`` queries; used for best-checkpoint selection.
* :class:`MeshReconstructionMetric` - volumetric IoU of the extracted mesh, Chamfer-L1 = 1/2 (accuracy +
  completeness), Chamfer-L2, normal consistency and F-score at 1 % (and 1.5 %, 2 %), from ``n_points``
  surface samples of the mesh matched to the GT surface with KD-trees; per class and mean over classes.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from scipy.spatial import cKDTree

from visionx.registry import METRICS
from visionx.utils import atomic_path


def _get(data_samples: Any, key: str, i: int):
    value = data_samples[key] if isinstance(data_samples, dict) else getattr(data_samples[i], key)
    value = value[i] if isinstance(data_samples, dict) else value
    return value.detach().cpu().numpy() if torch.is_tensor(value) else value


def occupancy_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """|A and B| / |A or B| of two boolean occupancy arrays (1.0 when both are empty)."""
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    union = np.logical_or(pred, gt).sum()
    return float(np.logical_and(pred, gt).sum() / union) if union else 1.0


def mesh_contains(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Inside test of points (N, 3) for a closed triangle mesh, by ray parity (Open3D ray casting).

    Deviation: ONet's ``check_mesh_contains`` uses its own triangle hash (resolution 512) with one ray
    along z; Open3D's ``RaycastingScene.compute_occupancy`` is the same parity test, without the Cython
    extension.
    """
    import open3d as o3d
    if len(faces) == 0:
        return np.zeros(len(points), bool)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(np.asarray(vertices, np.float32)),
                        o3d.core.Tensor(np.asarray(faces, np.uint32)))
    occ = scene.compute_occupancy(o3d.core.Tensor(np.asarray(points, np.float32)))
    return occ.numpy() > 0.5


def sample_mesh_surface(vertices: np.ndarray, faces: np.ndarray, n: int,
                        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Area-weighted surface samples (n, 3) and their face normals (n, 3) (``trimesh.sample``)."""
    import trimesh
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    points, face_idx = trimesh.sample.sample_surface(mesh, n, seed=seed)
    return np.asarray(points), np.asarray(mesh.face_normals[face_idx])


def surface_distances(pred_points: np.ndarray, pred_normals: np.ndarray | None, gt_points: np.ndarray,
                      gt_normals: np.ndarray | None,
                      f_thresholds: Sequence[float] = (0.01, 0.015, 0.02)) -> dict[str, float]:
    """Accuracy, completeness, Chamfer-L1/L2, normal consistency and F-scores of two point sets.

    Args:
        pred_points: (P, 3) samples of the prediction; gt_points: (G, 3) GT surface points.
        pred_normals, gt_normals: Matching unit normals (normal consistency is NaN without them).
        f_thresholds: Distances t of F(t) = 2 P(t) R(t) / (P(t) + R(t)), P/R the fractions of predicted /
            GT points within t (``<=``, as ONet) of the other set.
    """
    d_gt2pred, i_gt2pred = cKDTree(pred_points).query(gt_points)
    d_pred2gt, i_pred2gt = cKDTree(gt_points).query(pred_points)
    out = dict(completeness=float(d_gt2pred.mean()), accuracy=float(d_pred2gt.mean()),
               completeness2=float((d_gt2pred ** 2).mean()), accuracy2=float((d_pred2gt ** 2).mean()))
    out['chamfer_l1'] = 0.5 * (out['completeness'] + out['accuracy'])
    out['chamfer_l2'] = 0.5 * (out['completeness2'] + out['accuracy2'])
    if pred_normals is not None and gt_normals is not None:
        pn = pred_normals / np.linalg.norm(pred_normals, axis=-1, keepdims=True).clip(1e-12)
        gn = gt_normals / np.linalg.norm(gt_normals, axis=-1, keepdims=True).clip(1e-12)
        comp_n = np.abs((gn * pn[i_gt2pred]).sum(-1)).mean()
        acc_n = np.abs((pn * gn[i_pred2gt]).sum(-1)).mean()
        out['normal_consistency'] = float(0.5 * (comp_n + acc_n))
    else:
        out['normal_consistency'] = float('nan')
    for t in f_thresholds:
        precision, recall = (d_pred2gt <= t).mean(), (d_gt2pred <= t).mean()
        f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        out[f'fscore@{t:g}'] = float(f)
    return out


def _worst(f_thresholds: Sequence[float]) -> dict[str, float]:
    """ONet's values for an empty mesh."""
    out = dict(completeness=np.sqrt(3), accuracy=np.sqrt(3), completeness2=3.0, accuracy2=3.0,
               chamfer_l1=np.sqrt(3), chamfer_l2=3.0, normal_consistency=-1.0)
    out.update({f'fscore@{t:g}': 0.0 for t in f_thresholds})
    return {k: float(v) for k, v in out.items()}


def _nanmean(values: Sequence[float]) -> float:
    values = np.asarray(values, np.float64)
    return float(values[~np.isnan(values)].mean()) if (~np.isnan(values)).any() else float('nan')


def _class_means(results: list[dict], keys: Sequence[str]) -> tuple[dict, dict[str, dict]]:
    per_class: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        per_class[r['category']].append(r)
    table = {c: {k: _nanmean([r[k] for r in rs]) for k in keys} for c, rs in sorted(per_class.items())}
    mean = {k: _nanmean([row[k] for row in table.values()]) for k in keys}
    return mean, table


@METRICS.register_module()
class OccupancyIoUMetric(BaseMetric):
    """IoU of thresholded occupancy probabilities on ``points_iou`` (model output ``occ_prob_iou``).

    Args:
        threshold: Probability threshold (GridFormer ``test.threshold`` = 0.2).
        per_class: Also report ``iou/<class>``.
    """

    default_prefix = 'occ'

    def __init__(self, threshold: float = 0.2, per_class: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        if not 0 < threshold < 1:
            raise ValueError(f'threshold must be in (0, 1), got {threshold}')
        self.threshold = threshold
        self.per_class = per_class

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        gt_samples = data_batch['data_samples']
        for i, out in enumerate(data_samples):
            if 'occ_prob_iou' not in out:
                raise ValueError('OccupancyIoUMetric needs "occ_prob_iou"; give the dataset with_iou=True')
            pred = np.asarray(out['occ_prob_iou']) >= self.threshold
            gt = _get(gt_samples, 'points_iou_occ', i) >= 0.5
            self.results.append(dict(iou=occupancy_iou(pred, gt), category=str(_get(gt_samples, 'category', i))))

    def compute_metrics(self, results: list) -> dict[str, float]:
        mean, table = _class_means(results, ['iou'])
        out = dict(iou=mean['iou'], iou_instance=float(np.mean([r['iou'] for r in results])))
        if self.per_class:
            out.update({f'iou/{c}': row['iou'] for c, row in table.items()})
        return out


@METRICS.register_module()
class MeshReconstructionMetric(BaseMetric):
    """Mesh metrics of the ONet / ConvONet / GridFormer evaluation (model outputs ``vertices``, ``faces``).

    Args:
        n_points: Surface samples of the predicted mesh (paper: 100,000).
        f_thresholds: F-score distances (paper: 0.01; also 0.015 and 0.02 stored).
        with_iou: Volumetric IoU of the mesh on ``points_iou`` (needs ``points_iou`` in the batch).
        out_dir: If set, write ``<out_dir>/mesh_metrics_per_class.csv`` and
            ``mesh_metrics_per_object.csv`` (atomically).
        seed: Seed of the surface sampling.
        remove_wall: The Synthetic Rooms protocol (ConvONet / GridFormer ``remove_wall: true``, METHODS.md
            §1.8): sample ``2 * n_points`` surface points, keep those inside the GT surface points' x and z
            range and above their lowest y, each widened by 0.007 (the ceiling side of y is not cropped), then
            draw ``n_points`` of the kept ones at random (with replacement, as ConvONet's ``randint``), so the
            walls the GT scene does not contain do not count against accuracy.  A mesh with no point kept
            scores as an empty mesh.

    Chamfer-L1 is reported unscaled (ConvONet tables multiply it by 10).
    """

    #: the crop margin of ``remove_wall`` (ConvONet ``eval.py``)
    WALL_EPS = 0.007

    default_prefix = 'mesh'

    def __init__(self, n_points: int = 100000, f_thresholds: Sequence[float] = (0.01, 0.015, 0.02),
                 with_iou: bool = True, out_dir: str | None = None, seed: int = 0, remove_wall: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.remove_wall = bool(remove_wall)
        if n_points <= 0:
            raise ValueError(f'n_points must be positive, got {n_points}')
        self.n_points = n_points
        self.f_thresholds = tuple(f_thresholds)
        self.with_iou = with_iou
        self.out_dir = out_dir
        self.seed = seed

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        gt = data_batch['data_samples']
        for i, out in enumerate(data_samples):
            if 'vertices' not in out:
                raise ValueError('MeshReconstructionMetric needs meshes; use PackOccupancyInputs('
                                 'generate_mesh=True) in the test pipeline')
            verts, faces = np.asarray(out['vertices']), np.asarray(out['faces'])
            gt_points = _get(gt, 'surface_points', i)
            pts = nrm = None
            if len(faces):
                if self.remove_wall:
                    pts, nrm = self.crop_walls(*sample_mesh_surface(verts, faces, 2 * self.n_points, self.seed),
                                               np.asarray(gt_points))
                else:
                    pts, nrm = sample_mesh_surface(verts, faces, self.n_points, self.seed)
            if pts is None or len(pts) == 0:
                row = _worst(self.f_thresholds)
                row['iou'] = 0.0
            else:
                row = surface_distances(pts, nrm, gt_points, _get(gt, 'surface_normals', i), self.f_thresholds)
                if self.with_iou:
                    q = _get(gt, 'points_iou', i)
                    row['iou'] = occupancy_iou(mesh_contains(verts, faces, q), _get(gt, 'points_iou_occ', i) >= .5)
            row.update(category=str(_get(gt, 'category', i)), model_id=str(_get(gt, 'model_id', i)),
                       time_mesh=float(out.get('time_mesh', float('nan'))))
            self.results.append(row)

    def crop_walls(self, points: np.ndarray, normals: np.ndarray,
                   gt_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``remove_wall``: the samples inside the GT's x / z range and above its floor (margin
        :attr:`WALL_EPS`), then ``n_points`` of them drawn with replacement; empty arrays if none is kept."""
        eps = self.WALL_EPS
        lo, hi = gt_points.min(0) - eps, gt_points.max(0) + eps
        keep = ((points[:, 0] >= lo[0]) & (points[:, 0] <= hi[0]) & (points[:, 1] >= lo[1])
                & (points[:, 2] >= lo[2]) & (points[:, 2] <= hi[2]))
        points, normals = points[keep], normals[keep]
        if not len(points):
            return points, normals
        idx = np.random.default_rng(self.seed).integers(0, len(points), self.n_points)
        return points[idx], normals[idx]

    def _keys(self) -> list[str]:
        keys = ['chamfer_l1', 'chamfer_l2', 'accuracy', 'completeness', 'normal_consistency']
        keys += [f'fscore@{t:g}' for t in self.f_thresholds]
        return (['iou'] if self.with_iou else []) + keys + ['time_mesh']

    def compute_metrics(self, results: list) -> dict[str, float]:
        keys = self._keys()
        mean, table = _class_means(results, keys)
        if self.out_dir:
            self._write_csv(results, table, mean, keys)
        out = dict(mean)
        for c, row in table.items():
            out.update({f'{k}/{c}': v for k, v in row.items() if k != 'time_mesh'})
        return out

    def _write_csv(self, results: list, table: dict, mean: dict, keys: list[str]) -> None:
        out_dir = Path(self.out_dir)
        with atomic_path(out_dir / 'mesh_metrics_per_class.csv') as tmp, open(tmp, 'w', newline='') as fh:
            w = csv.writer(fh)
            w.writerow(['class', *keys])
            for c, row in table.items():
                w.writerow([c, *(f'{row[k]:.6f}' for k in keys)])
            w.writerow(['mean', *(f'{mean[k]:.6f}' for k in keys)])
        with atomic_path(out_dir / 'mesh_metrics_per_object.csv') as tmp, open(tmp, 'w', newline='') as fh:
            w = csv.writer(fh)
            w.writerow(['class', 'model_id', *keys])
            for r in results:
                w.writerow([r['category'], r['model_id'], *(f'{r[k]:.6f}' for k in keys)])
