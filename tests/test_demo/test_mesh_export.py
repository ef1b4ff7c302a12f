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


# --------------------------------------------------------------------------------------- model and file checks
from tests.test_demo.conftest import GRIDFORMER_TINY, save_checkpoint  # noqa: E402


def test_config_is_taken_from_the_checkpoint(octahedron_ckpt, tmp_path, run_cli):
    """Without --config the config stored in the checkpoint's meta (as tools/train.py writes it) is used: the
    octahedron network exports the octahedron with no config file given."""
    ckpt = torch.load(octahedron_ckpt, weights_only=True)
    ckpt['meta'] = {'cfg': Config.fromfile(str(CONFIG)).pretty_text}
    torch.save(ckpt, tmp_path / 'with_meta.pth')
    src = tmp_path / 'cloud.xyz'
    np.savetxt(src, _octahedron_points(500))
    out = tmp_path / 'mesh.ply'
    code, stdout, _ = run_cli(mesh_export, [src, tmp_path / 'with_meta.pth', '--out', out, '--num-points', 256,
                                            '--resolution', 16, '--device', 'cpu', '--threads', 1])
    assert code == 0 and f'wrote {out}' in stdout
    mesh = trimesh.load(out, process=False)
    l1 = np.abs(mesh.vertices - CENTRE).sum(1) / SCALE
    np.testing.assert_allclose(l1, 0.5, atol=0.03)
    assert torch.get_num_threads() == 1
    torch.set_num_threads(2)


@pytest.mark.parametrize('kind, with_config, message', [
    ('linear', False, 'stores no config'),
    ('linear', True, 'does not match model GridFormer'),
    ('tracoco', False, 'describes a TraCoCo model; mesh export needs GridFormer'),
    ('tracoco', True, 'does not match model GridFormer'),
])
def test_wrong_checkpoints_are_refused(kind, with_config, message, foreign_checkpoints, tmp_path, run_cli):
    """A bare nn.Linear state dict and a TraCoCo checkpoint: one error line, exit 2, nothing written."""
    src = tmp_path / 'cloud.xyz'
    np.savetxt(src, _octahedron_points(50))
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    argv = [src, foreign_checkpoints[kind], '--out', out_dir / 'mesh.ply', '--render', out_dir / 'v.png']
    code, _, err = run_cli(mesh_export, argv + (['--config', GRIDFORMER_TINY] if with_config else []))
    assert code == 2 and message in err and str(foreign_checkpoints[kind]) in err
    assert err.startswith('error: ') and 'Traceback' not in err
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize('name, content, message', [
    ('empty.xyz', '', 'empty file'),
    ('nan.xyz', '0 0 0\n1 nan 1\n2 2 2\n', '1 of 3 points have NaN or Inf'),
    ('one.xyz', '0.5 0.5 0.5\n', '1 point(s); need at least 2'),
    ('header.xyz', 'x y z\n0 0 0\n1 1 1\n', 'line 1 is not numeric'),
    ('short.xyz', '0 0\n1 1\n', 'expected (N, 3) coordinates'),
])
def test_bad_point_files_give_one_error_line(name, content, message, octahedron_ckpt, tmp_path, run_cli):
    (tmp_path / name).write_text(content)
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    code, _, err = run_cli(mesh_export, [tmp_path / name, octahedron_ckpt, '--config', CONFIG,
                                         '--out', out_dir / 'mesh.ply'])
    assert code == 2, err
    first = err.splitlines()[0]
    assert first.startswith(f'error: {tmp_path / name}') and message in first, err
    assert 'Traceback' not in err and list(out_dir.iterdir()) == []


def test_options_are_checked_before_the_input_is_read(tmp_path, run_cli):
    """A wrong --out suffix is reported even though neither the input nor the checkpoint exists."""
    code, _, err = run_cli(mesh_export, [tmp_path / 'absent.xyz', tmp_path / 'absent.pth',
                                         '--out', tmp_path / 'mesh.stl'])
    assert code == 2 and '--out must end in .ply, .obj or .off' in err
    code, _, err = run_cli(mesh_export, [tmp_path / 'absent.xyz', tmp_path / 'absent.pth',
                                         '--out', tmp_path / 'mesh.ply', '--threads', 0])
    assert code == 2 and '--threads must be >= 1' in err
    assert list(tmp_path.iterdir()) == []
    # unwritable outputs are reported before the checkpoint is read, and no mesh is left without its render
    (tmp_path / 'dir.ply').mkdir()
    code, _, err = run_cli(mesh_export, [tmp_path / 'absent.xyz', tmp_path / 'absent.pth', '--out', tmp_path / 'dir.ply'])
    assert code == 2 and f'--out {tmp_path / "dir.ply"} is a folder' in err
    (tmp_path / 'afile').write_text('')
    code, _, err = run_cli(mesh_export, [tmp_path / 'absent.xyz', tmp_path / 'absent.pth', '--out', tmp_path / 'm.ply',
                                         '--render', tmp_path / 'afile' / 'r.png'])
    assert code == 2 and f'{tmp_path / "afile"} is a file, not a folder' in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['afile', 'dir.ply']
