"""GridFormer data: synthetic-shape generator layout, ShapeNet / Synthetic Rooms loaders, transforms,
boundary flags (by hand), bad files."""
from pathlib import Path

import numpy as np
import pytest
import yaml
from mmengine.registry import init_default_scope

from visionx.datasets.reconstruction import (BoundaryPointsFilter, PackOccupancyInputs, PointcloudNoise,
                                             ShapeNetDataset, SubsamplePointcloud, SubsamplePoints,
                                             SyntheticRoomsDataset, boundary_mask)
from visionx.datasets.reconstruction.io import load_query_points


def test_demo_layout(demo_root):
    root = demo_root / 'gridformer'
    meta = yaml.safe_load((root / 'metadata.yaml').read_text())
    assert len(meta) == 3
    for cat in meta:
        ids = (root / cat / 'train.lst').read_text().split()
        assert len(ids) == 3
        with np.load(root / cat / ids[0] / 'points.npz') as d:
            assert d['points'].dtype == np.float16 and d['points'].shape == (4096, 3)
            assert d['occupancies'].dtype == np.uint8 and d['occupancies'].shape == (4096 // 8,)
            assert np.abs(d['points']).max() <= 0.55 + 1e-3
        with np.load(root / cat / ids[0] / 'pointcloud.npz') as d:
            assert d['points'].shape == d['normals'].shape == (4096, 3)
            # unit cube normalisation: longest side of the surface bounding box is ~1
            ext = d['points'].astype(np.float32).max(0) - d['points'].astype(np.float32).min(0)
            assert 0.95 < ext.max() <= 1.01


def test_occupancy_agrees_with_mesh(demo_root):
    import trimesh
    model_dir = next((demo_root / 'gridformer' / '90000001').glob('sphere_*'))
    mesh = trimesh.load(model_dir / 'model.off')
    mesh.apply_translation(-mesh.bounds.mean(0))
    mesh.apply_scale(1 / (mesh.bounds[1] - mesh.bounds[0]).max())
    q = load_query_points(model_dir / 'points.npz', np.random.default_rng(0))
    from visionx.evaluation.metrics.reconstruction import mesh_contains
    inside = mesh_contains(mesh.vertices, mesh.faces, q['points'])
    assert (inside == (q['occ'] > 0.5)).mean() > 0.97


def test_shapenet_dataset_and_pipeline(demo_root):
    init_default_scope('visionx')
    pipeline = [dict(type='SubsamplePointcloud', num_points=300), dict(type='PointcloudNoise', stddev=0.005),
                dict(type='SubsamplePoints', num_points=128), dict(type='PackOccupancyInputs')]
    ds = ShapeNetDataset(str(demo_root / 'gridformer'), split='train', pipeline=pipeline)
    assert len(ds) == 9 and ds.metainfo['class_names'] == ('sphere', 'box', 'torus')
    out = ds[0]
    assert out['inputs'].shape == (300, 3)
    assert out['data_samples']['points'].shape == (128, 3)
    assert set(out['data_samples']['points_occ'].unique().tolist()) <= {0.0, 1.0}
    val = ShapeNetDataset(str(demo_root / 'gridformer'), split='val', with_iou=True,
                                   with_surface=True, test_mode=True,
                                   pipeline=[dict(type='SubsamplePointcloud', num_points=50),
                                             dict(type='PackOccupancyInputs', generate_mesh=True)])
    a, b = val[1], val[1]
    assert np.array_equal(a['inputs'], b['inputs'])  # test mode: fixed inputs across evaluations
    assert a['data_samples']['points_iou'].shape == (4096, 3)
    assert a['data_samples']['surface_normals'].shape == (4096, 3)
    assert a['data_samples']['generate_mesh'] is True


def test_boundary_mask_by_hand():
    pts = np.array([[0, 0, 0], [0.05, 0, 0], [0.5, 0, 0], [0.55, 0, 0], [0.9, 0.9, 0.9]], float)
    occ = np.array([1, 0, 1, 1, 0])
    # 0 and 1 are within 0.08 with different labels; 2 and 3 agree; 4 is alone
    assert boundary_mask(pts, occ, radius=0.08).tolist() == [1, 1, 0, 0, 0]
    assert boundary_mask(pts, occ, radius=0.51).tolist() == [1, 1, 1, 1, 0]
    with pytest.raises(ValueError):
        boundary_mask(pts, occ[:3])


def test_boundary_filter_online_and_precomputed():
    rng = np.random.default_rng(0)
    pts = rng.uniform(-0.5, 0.5, (2000, 3)).astype(np.float32)
    occ = (np.linalg.norm(pts, axis=1) < 0.3).astype(np.float32)
    res = BoundaryPointsFilter()(dict(points=pts, points_occ=occ))
    r = np.linalg.norm(res['points'], axis=1)
    assert len(r) < 2000 and np.all(np.abs(r - 0.3) < 0.08 + 1e-6)
    flags = np.zeros(2000, bool)
    flags[:5] = True
    res = BoundaryPointsFilter(online=False)(dict(points=pts, points_occ=occ, points_contrastive=flags))
    assert np.array_equal(res['points'], pts[:5])
    with pytest.raises(ValueError, match='boundary'):
        BoundaryPointsFilter(online=False)(dict(points=pts, points_occ=occ))
    # radius / k would do nothing offline (the files fix the band): refused, and checked online
    for bad in (dict(radius=0.05, online=False), dict(k=10, online=False), dict(radius=0.0), dict(k=0)):
        with pytest.raises(ValueError, match='radius'):
            BoundaryPointsFilter(**bad)
    res = SubsamplePoints(64)(dict(points=pts[:5], points_occ=occ[:5]))  # with replacement
    assert res['points'].shape == (64, 3)


def test_transforms_noise_and_bad_input():
    pts = np.zeros((10, 3), np.float32)
    out = PointcloudNoise(0.005)(dict(inputs=pts, _rng=np.random.default_rng(0)))
    assert 0.003 < out['inputs'].std() < 0.007
    with pytest.raises(ValueError, match='empty'):
        SubsamplePointcloud(5)(dict(inputs=np.zeros((0, 3))))
    with pytest.raises(ValueError):
        PointcloudNoise(-1)
    packed = PackOccupancyInputs()(dict(inputs=pts, points=pts, points_occ=np.ones(10), model_id='m'))
    assert packed['data_samples']['model_id'] == 'm' and packed['inputs'].dtype.is_floating_point


def _write_room(root: Path, n: int = 800) -> None:
    rng = np.random.default_rng(0)
    scene = root / 'rooms_04' / '00000001'
    for i in range(2):
        (scene / 'pointcloud').mkdir(parents=True, exist_ok=True)
        (scene / 'points_iou').mkdir(parents=True, exist_ok=True)
        pc = rng.uniform(-0.5, 0.5, (n, 3)).astype(np.float16)
        np.savez(scene / 'pointcloud' / f'pointcloud_{i:02d}.npz', points=pc, normals=pc, semantics=np.zeros(n))
        q = rng.uniform(-0.55, 0.55, (n, 3))
        occ = np.full(n, i == 1)  # file 1 is all occupied: tells which file was read
        np.savez(scene / 'points_iou' / f'points_iou_{i:02d}.npz', points=q.astype(np.float16),
                 occupancies=np.packbits(occ), z_scale=1.0, semantics=np.zeros(n))
    for split in ('train', 'val', 'test'):
        (root / 'rooms_04' / f'{split}.lst').write_text('00000001\n')


def test_synthetic_rooms_multi_files(tmp_path):
    _write_room(tmp_path)
    ds = SyntheticRoomsDataset(str(tmp_path), multi_files=2, split='train', with_iou=True, pipeline=[])
    seen = {float(ds[0]['points_occ'].mean()) for _ in range(30)}
    assert seen == {0.0, 1.0}   # both re-samplings are drawn
    info = ds[0]
    assert np.array_equal(info['points_occ'], info['points_iou_occ'])  # same file for queries and IoU


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='Occupancy-Networks'):
        ShapeNetDataset(str(tmp_path / 'nope'))
    cat = tmp_path / 'c1'
    (cat / 'm1').mkdir(parents=True)
    (cat / 'train.lst').write_text('m1\n')
    (cat / 'm1' / 'pointcloud.npz').write_bytes(b'not a zip')
    ds = ShapeNetDataset(str(tmp_path), pipeline=[])
    with pytest.raises(ValueError, match='pointcloud.npz'):
        ds[0]
    np.savez(cat / 'm1' / 'pointcloud.npz', points=np.zeros((8, 3)), normals=np.zeros((8, 3)))
    with pytest.raises(FileNotFoundError, match='points.npz'):
        ds[0]
    np.savez(cat / 'm1' / 'points.npz', points=np.zeros((8, 3)))
    with pytest.raises(ValueError, match='occupancies'):
        ds[0]
