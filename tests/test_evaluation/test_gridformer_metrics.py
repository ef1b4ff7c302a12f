"""Reconstruction metrics: golden values for Chamfer / F-score / normal consistency / IoU, empty meshes."""
import numpy as np
import pytest
import torch
import trimesh

from visionx.evaluation.metrics.reconstruction import (MeshReconstructionMetric, OccupancyIoUMetric,
                                                       mesh_contains, occupancy_iou, surface_distances)


def test_surface_distances_golden():
    gt = np.array([[0.0, 0, 0], [1.0, 0, 0]])
    pred = np.array([[0.0, 0, 0.02], [1.0, 0, 0.0], [1.0, 0, 0.5]])
    n_gt = np.array([[0, 0, 1.0], [0, 0, 1.0]])
    n_pred = np.array([[0, 0, -2.0], [1.0, 0, 0], [0, 0, 1.0]])
    out = surface_distances(pred, n_pred, gt, n_gt, f_thresholds=(0.01, 0.03))
    # completeness: gt->pred = [0.02, 0]; accuracy: pred->gt = [0.02, 0, 0.5]
    assert out['completeness'] == pytest.approx(0.01)
    assert out['accuracy'] == pytest.approx(0.52 / 3)
    assert out['chamfer_l1'] == pytest.approx(0.5 * (0.01 + 0.52 / 3))
    assert out['chamfer_l2'] == pytest.approx(0.5 * (0.0004 / 2 + (0.0004 + 0.25) / 3))
    # normals: gt->pred |dot| = [1 (flipped ok), 0]; pred->gt = [1, 0, 1]
    assert out['normal_consistency'] == pytest.approx(0.5 * (0.5 + 2 / 3))
    # F@0.01: precision 1/3, recall 1/2; F@0.03: precision 2/3, recall 1
    assert out['fscore@0.01'] == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))
    assert out['fscore@0.03'] == pytest.approx(2 * (2 / 3) / (2 / 3 + 1))


def test_mesh_contains_and_iou():
    box = trimesh.creation.box((1, 1, 1))
    pts = np.array([[0, 0, 0], [0.4, 0.4, 0.4], [0.6, 0, 0], [0, 0, -0.7]])
    assert mesh_contains(box.vertices, box.faces, pts).tolist() == [True, True, False, False]
    assert occupancy_iou([1, 1, 0, 0], [1, 0, 1, 0]) == pytest.approx(1 / 3)


def test_mesh_metric_perfect_and_empty(tmp_path):
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=0.4)
    gt_pts, idx = trimesh.sample.sample_surface(sphere, 20000, seed=1)
    q = np.random.default_rng(0).uniform(-0.55, 0.55, (5000, 3))
    occ = (np.linalg.norm(q, axis=1) < 0.4).astype(np.float32)
    batch = dict(data_samples=dict(
        surface_points=torch.tensor(gt_pts[None], dtype=torch.float32),
        surface_normals=torch.tensor(sphere.face_normals[idx][None], dtype=torch.float32),
        points_iou=torch.tensor(q[None], dtype=torch.float32), points_iou_occ=torch.tensor(occ[None]),
        category=['ball'], model_id=['m0']))
    metric = MeshReconstructionMetric(n_points=20000, out_dir=str(tmp_path))
    metric.process(batch, [dict(vertices=sphere.vertices, faces=sphere.faces)])
    metric.process(batch, [dict(vertices=np.zeros((0, 3)), faces=np.zeros((0, 3), int))])
    res = metric.compute_metrics(metric.results)
    perfect, empty = metric.results
    assert perfect['chamfer_l1'] < 0.01 and perfect['normal_consistency'] > 0.99
    assert perfect['fscore@0.01'] > 0.95 and perfect['iou'] > 0.95
    assert empty['chamfer_l1'] == pytest.approx(np.sqrt(3)) and empty['iou'] == 0
    assert res['iou'] == pytest.approx((perfect['iou'] + 0) / 2)
    text = (tmp_path / 'mesh_metrics_per_class.csv').read_text()
    assert text.startswith('class,iou,chamfer_l1') and 'ball' in text and 'mean' in text


def test_occupancy_iou_metric():
    metric = OccupancyIoUMetric(threshold=0.2, per_class=True)
    batch = dict(data_samples=dict(points_iou_occ=torch.tensor([[1.0, 1.0, 0.0, 0.0]]), category=['a']))
    metric.process(batch, [dict(occ_prob_iou=torch.tensor([0.25, 0.1, 0.3, 0.0]))])
    res = metric.compute_metrics(metric.results)
    assert res['iou'] == pytest.approx(1 / 3) and res['iou/a'] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match='threshold'):
        OccupancyIoUMetric(threshold=1.5)


def test_remove_wall_crop_by_hand():
    """Rooms protocol: keep samples inside the GT's x / z range and above its floor (margin 0.007), the
    ceiling side of y open."""
    from visionx.evaluation.metrics.reconstruction import MeshReconstructionMetric
    metric = MeshReconstructionMetric(n_points=4, remove_wall=True, with_iou=False)
    gt = np.array([[0., 0., 0.], [1., 0., 1.], [0.5, 0.2, 0.5]])  # x, z in [0, 1]; floor y = 0
    pts = np.array([[0.5, 0.0, 0.5],     # inside: kept
                    [1.5, 0.5, 0.5],     # beyond x: a wall, dropped
                    [0.5, -0.1, 0.5],    # below the floor: dropped
                    [0.5, 2.0, 0.5],     # above the GT: kept (the ceiling side is not cropped)
                    [1.005, 0.1, -0.005]])  # within the 0.007 margin: kept
    nrm = np.tile([[0., 1., 0.]], (5, 1))
    kept, kept_n = metric.crop_walls(pts, nrm, gt)
    assert len(kept) == 4 and len(kept_n) == 4  # n_points draws, with replacement
    assert {tuple(p) for p in kept} <= {tuple(pts[0]), tuple(pts[3]), tuple(pts[4])}
    empty, _ = metric.crop_walls(pts[1:3], nrm[1:3], gt)
    assert empty.shape == (0, 3)


def test_remove_wall_ignores_walls_the_gt_lacks():
    """A predicted floor that matches the GT floor plus a wall outside the GT's extent: with remove_wall the
    accuracy is the floor's (under the GT grid's half-diagonal), without it the wall's distance dominates."""
    from visionx.evaluation.metrics.reconstruction import MeshReconstructionMetric
    g = np.linspace(0, 1, 21)
    gx, gz = np.meshgrid(g, g)
    gt = np.stack([gx.ravel(), np.zeros(gx.size), gz.ravel()], 1)
    gt_n = np.tile([0., 1., 0.], (len(gt), 1))
    verts = np.array([[0, 0, 0], [1, 0, 0], [1, 0, 1], [0, 0, 1],              # floor y = 0
                      [1.5, 0, 0], [1.5, 1, 0], [1.5, 1, 1], [1.5, 0, 1]], float)  # wall at x = 1.5, area 1
    faces = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    batch = dict(data_samples=dict(surface_points=[gt], surface_normals=[gt_n], category=['room'],
                                   model_id=['r0']))
    accuracy = {}
    for remove in (False, True):
        metric = MeshReconstructionMetric(n_points=4000, with_iou=False, remove_wall=remove)
        metric.process(batch, [dict(vertices=verts, faces=faces)])
        accuracy[remove] = metric.results[0]['accuracy']
    assert accuracy[True] < 0.05 / np.sqrt(2)  # every kept point lies on the floor, within a grid cell
    assert accuracy[False] > 0.25  # about half the points on the wall, at least 0.5 from the GT
