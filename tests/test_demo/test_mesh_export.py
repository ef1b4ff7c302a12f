"""demo/mesh_export.py with a hand-built GridFormer whose surface is known: the octahedron |x|+|y|+|z| = 0.5.

The decoder's weights are set so that the conditioning features drop out (``fc_c`` zero), the residual
blocks are identities (``fc_1`` zero) and ``fc_p`` writes ``(x, -x, y, -y, z, -z)`` into the first six
hidden units; ``fc_out`` then gives the logit ``k (0.5 - |x| - |y| - |z|)`` in the unit cube.  The input point
cloud is that octahedron in world coordinates (centre ``C``, scale ``S``), so the exported mesh must be the
octahedron ``|x - C|_1 = 0.5 S``.
"""
from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import torch
import trimesh
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tests.conftest import REPO_ROOT

CONFIG = REPO_ROOT / 'configs/gridformer/gridformer_3plane32-c8_1xb4-400it_synshapes-512.py'
CENTRE, SCALE, K = np.array([2.0, -1.0, 0.5]), 3.0, 20.0

spec = importlib.util.spec_from_file_location('mesh_export', REPO_ROOT / 'demo/mesh_export.py')
mesh_export = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mesh_export)


@pytest.fixture(scope='module')
def octahedron_ckpt(tmp_path_factory):
    from visionx.registry import MODELS
    init_default_scope('visionx')
    model = MODELS.build(Config.fromfile(str(CONFIG)).model)
    dec = model.decoder
    with torch.no_grad():
        for p in dec.parameters():
            p.zero_()
        for i in range(3):
            dec.fc_p.weight[2 * i, i] = 1.0
            dec.fc_p.weight[2 * i + 1, i] = -1.0
        dec.fc_out.weight[0, :6] = -K
        dec.fc_out.bias.fill_(0.5 * K)
    path = tmp_path_factory.mktemp('octahedron') / 'octahedron.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def _octahedron_points(n: int = 2000) -> np.ndarray:
    """World points on |x - C|_1 = 0.5 S, the six vertices included (they fix the bounding box)."""
    rng = np.random.default_rng(0)
    d = rng.standard_normal((n, 3))
    d /= np.abs(d).sum(1, keepdims=True)
    d = np.concatenate([d, np.eye(3), -np.eye(3)])
    return CENTRE + 0.5 * SCALE * d


def _run(monkeypatch, *args):
    monkeypatch.setattr(sys, 'argv', ['mesh_export.py', *map(str, args)])
    mesh_export.main()


def test_mesh_is_the_known_octahedron(octahedron_ckpt, tmp_path, monkeypatch):
    src = tmp_path / 'cloud.xyz'
    np.savetxt(src, _octahedron_points())
    out = tmp_path / 'mesh.ply'
    _run(monkeypatch, src, octahedron_ckpt, '--config', CONFIG, '--out', out, '--num-points', 512,
         '--resolution', 32, '--device', 'cpu')
    mesh = trimesh.load(out, process=False)
    assert len(mesh.faces) > 100
    step = SCALE / 31  # one marching-cubes voxel in world units
    np.testing.assert_allclose(mesh.bounds[0], CENTRE - 0.5 * SCALE, atol=step)
    np.testing.assert_allclose(mesh.bounds[1], CENTRE + 0.5 * SCALE, atol=step)
    l1 = np.abs(mesh.vertices - CENTRE).sum(1) / SCALE
    np.testing.assert_allclose(l1, 0.5, atol=0.02)  # every vertex on the octahedron (bisection-refined)
    # closed surface enclosing the octahedron's volume 4/3 (0.5 S)^3
    assert abs(mesh.volume) == pytest.approx(4 / 3 * (0.5 * SCALE) ** 3, rel=0.1)


def test_bad_inputs(octahedron_ckpt, tmp_path, monkeypatch):
    np.savetxt(tmp_path / 'cloud.xyz', _octahedron_points(50))
    with pytest.raises(ValueError, match='--out must end'):
        _run(monkeypatch, tmp_path / 'cloud.xyz', octahedron_ckpt, '--out', tmp_path / 'mesh.stl')
    np.savetxt(tmp_path / 'same.xyz', np.ones((5, 3)))
    with pytest.raises(ValueError, match='all points are identical'):
        _run(monkeypatch, tmp_path / 'same.xyz', octahedron_ckpt, '--config', CONFIG, '--out', tmp_path / 'm.ply')
    with pytest.raises(FileNotFoundError):
        _run(monkeypatch, tmp_path / 'cloud.xyz', tmp_path / 'absent.pth', '--config', CONFIG,
             '--out', tmp_path / 'm.ply', '--device', 'cpu')
