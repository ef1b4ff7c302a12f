"""tools/data/gridformer_boundary_sampling.py on a tiny ShapeNet-layout folder with hand-checkable points.

The shape is a ball of radius 0.3.  Queries: 20 pairs straddling the surface (radii 0.28 inside, 0.32 outside,
0.04 apart along one direction), the centre, a point at radius 0.2 inside and four corner points at radius
0.52.  With radius 0.08: every pair point has its partner (other label) within 0.04, so it is a boundary
point; the centre's, the 0.2 point's and the corners' nearest other-label points are at least 0.12 away, so
they are not.
"""
from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location('boundary_sampling',
                                              REPO_ROOT / 'tools/data/gridformer_boundary_sampling.py')
boundary_sampling = importlib.util.module_from_spec(spec)
spec.loader.exec_module(boundary_sampling)


def _queries() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points (N, 3), occupancy (N,), expected boundary flag (N,))."""
    rng = np.random.default_rng(0)
    dirs = rng.standard_normal((20, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    pairs = np.concatenate([dirs * 0.28, dirs * 0.32])
    corners = np.array([[1, 1, 1], [-1, -1, 1], [1, -1, -1], [-1, 1, -1]]) / np.sqrt(3) * 0.52
    far = np.concatenate([[[0, 0, 0]], [[0, 0, 0.2]], corners])
    points = np.concatenate([pairs, far])
    occ = np.linalg.norm(points, axis=1) < 0.3
    expected = np.concatenate([np.ones(40, np.uint8), np.zeros(len(far), np.uint8)])
    return points, occ, expected


def _write_shapenet(root, points, occ):
    model = root / '02691156' / 'ball'
    model.mkdir(parents=True)
    (root / '02691156' / 'train.lst').write_text('ball\n')
    np.savez(model / 'points.npz', points=points.astype(np.float16), occupancies=np.packbits(occ),
             loc=np.zeros(3, np.float32), scale=np.float32(1))
    return model


def _run(monkeypatch, *args):
    monkeypatch.setattr(sys, 'argv', ['gridformer_boundary_sampling.py', *map(str, args)])
    boundary_sampling.main()


def test_boundary_flags_and_files(tmp_path, monkeypatch, capsys):
    points, occ, expected = _queries()
    # the hand reasoning relies on the closest other-label point of a non-pair point being >= 0.12 away;
    # check the geometry (not the tool)
    d = np.linalg.norm(points[:, None] - points[None], axis=-1)
    other = occ[:, None] != occ[None]
    assert d[40:][other[40:]].min() >= 0.12 - 1e-6
    model = _write_shapenet(tmp_path, points, occ)
    _run(monkeypatch, tmp_path, '--workers', '1')
    assert '1 written, 0 already present' in capsys.readouterr().out
    out = model / 'boundary0.08'
    with np.load(out / 'boundary_points.npz') as f:
        assert set(f.files) == {'points', 'occupancies', 'loc', 'scale', 'contrastive'}
        np.testing.assert_array_equal(f['contrastive'], expected)
        np.testing.assert_array_equal(f['points'], points.astype(np.float16))
        np.testing.assert_array_equal(f['occupancies'], np.packbits(occ))
    np.testing.assert_array_equal(np.load(out / 'boundary_value.npy'), expected)
    xyz = np.loadtxt(out / 'boundary.xyz')
    assert xyz.shape == (len(points), 6)
    np.testing.assert_array_equal(xyz[:, 3:], np.where(expected[:, None] > 0, [255, 0, 0], [128, 128, 128]))
    # resumable: a second run skips the written model
    _run(monkeypatch, tmp_path, '--workers', '1')
    assert '0 written, 1 already present' in capsys.readouterr().out


def test_smaller_radius_and_rooms_layout(tmp_path, monkeypatch):
    points, occ, expected = _queries()
    # radius 0.03 < 0.04: the pair partners are out of reach, nothing is a boundary point
    model = _write_shapenet(tmp_path / 'shapenet', points, occ)
    _run(monkeypatch, tmp_path / 'shapenet', '--workers', '1', '--radius', '0.03', '--no-inspection')
    with np.load(model / 'boundary0.03' / 'boundary_points.npz') as f:
        assert f['contrastive'].sum() == 0
    assert not (model / 'boundary0.03' / 'boundary_value.npy').exists()
    # Synthetic Rooms: points_iou/points_iou_XX.npz -> points_iou/boundary0.08/boundary_points_XX.npz
    scene = tmp_path / 'rooms' / 'rooms_04' / 'scene_0000'
    (scene / 'points_iou').mkdir(parents=True)
    (tmp_path / 'rooms' / 'rooms_04' / 'test.lst').write_text('scene_0000\n')
    for i in range(2):
        np.savez(scene / 'points_iou' / f'points_iou_{i:02d}.npz', points=points.astype(np.float16),
                 occupancies=np.packbits(occ))
    _run(monkeypatch, tmp_path / 'rooms', '--workers', '1', '--rooms')
    for i in range(2):
        with np.load(scene / 'points_iou' / 'boundary0.08' / f'boundary_points_{i:02d}.npz') as f:
            np.testing.assert_array_equal(f['contrastive'], expected)


def test_missing_root_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match='not found'):
        _run(monkeypatch, tmp_path / 'absent')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no models listed'):
        _run(monkeypatch, tmp_path / 'empty')


def test_bad_flags_and_bad_files_are_user_errors(tmp_path, monkeypatch):
    from visionx.utils import ConfigError, DataFormatError
    for flags in (['--radius', '-1'], ['--k', '0'], ['--workers', '0']):
        with pytest.raises(ConfigError, match='--radius > 0'):
            _run(monkeypatch, tmp_path, *flags)
    root = tmp_path / 'shapes'
    model = root / 'c' / 'm'
    model.mkdir(parents=True)
    (root / 'c' / 'train.lst').write_text('m\n')
    np.savez(model / 'points.npz', points=np.zeros((5, 2), np.float16), occupancies=np.packbits(np.ones(5, bool)))
    with pytest.raises(DataFormatError, match=r'points\.npz: '):
        _run(monkeypatch, root, '--workers', '1')
    assert not (model / 'boundary0.08').exists()
