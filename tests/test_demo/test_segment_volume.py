"""demo/segment_volume.py: config from the checkpoint, strict model check, one error style, windows / overlap /
batching / threads, with the hand-built threshold networks of the TraCoCo inference tests (known masks)."""
from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tests.test_demo.conftest import TRACOCO_TINY, load_script, save_checkpoint
from tests.test_models.test_medical.test_tracoco_segment_volume import (NET_PARAMS, THRESHOLD_NET, _sigmoid,
                                                                       _threshold_state, _Threshold3D)

segment_volume = load_script('segment_volume')
SHAPE = (20, 14, 10)


@pytest.fixture(scope='module')
def threshold_model(tmp_path_factory):
    """A TraCoCo config whose networks are 1x1x1 threshold convolutions (patch 8^3, strides 4^3), and two
    checkpoints of it: one with the config in ``meta`` (as tools/train.py writes), one bare."""
    from visionx.registry import MODELS
    MODELS.register_module(name=THRESHOLD_NET, module=_Threshold3D, force=True)
    root = tmp_path_factory.mktemp('threshold')
    cfg_path = root / 'threshold.py'
    cfg_path.write_text(f"_base_ = ['{TRACOCO_TINY}']\nmodel = dict(backbone=dict(_delete_=True, "
                        f"type='{THRESHOLD_NET}'), test_cfg=dict(patch_size=(8, 8, 8), strides=(4, 4, 4)))\n")
    init_default_scope('visionx')
    model = MODELS.build(Config.fromfile(str(cfg_path)).model)
    model.load_state_dict(_threshold_state(), strict=False)
    return dict(config=cfg_path, with_meta=save_checkpoint(root / 'meta.pth', model, cfg_path),
                bare=save_checkpoint(root / 'bare.pth', model, None))


def _volume(path):
    """A noisy ball (intensity 500 inside, 100 outside) of shape SHAPE, saved as NIfTI; returns the array."""
    rng = np.random.default_rng(0)
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in SHAPE], indexing='ij'))
    ball = ((grid - np.array([10, 7, 5])[:, None, None, None]) ** 2).sum(0) <= 4.5 ** 2
    vol = (100.0 + 400.0 * ball + rng.normal(0, 20, ball.shape)).astype(np.float32)
    nib.save(nib.Nifti1Image(vol, np.diag([0.5, 0.5, 1.0, 1.0])), str(path))
    return vol


def _expected_mask(vol: np.ndarray, net: str) -> np.ndarray:
    """Pointwise networks: every window gives the same voxel probability, so the mask is the per-voxel one."""
    x = (vol.astype(np.float64) - vol.min()) / (vol.max() - vol.min())
    probs = {n: _sigmoid(k * (x - t)) for n, (k, t) in NET_PARAMS.items()}
    p = (probs['net1'] + probs['net2']) / 2 if net == 'mean' else probs[net]
    return (p > 0.5).astype(np.uint8)


def test_config_from_checkpoint_and_window_controls(threshold_model, tmp_path, run_cli, monkeypatch):
    """No --config: the stored config is used.  --overlap 0.5 of the 8^3 patch gives strides 4: windows start
    at x in {0, 4, 8, 12}, y in {0, 4, 6}, z in {0, 2} (last one clamped), 24 windows per network, 48 for the
    mean; --batch-windows 5 reaches the sliding window; --threads sets torch's threads."""
    import visionx.models.medical.tracoco as tracoco
    seen = []
    original = tracoco.sliding_window_predict

    def spy(net, volume, patch_size, strides, num_classes, batch_size):
        seen.append((tuple(strides), batch_size))
        return original(net, volume, patch_size, strides, num_classes, batch_size)
    monkeypatch.setattr(tracoco, 'sliding_window_predict', spy)
    vol = _volume(tmp_path / 'in.nii.gz')
    code, out, err = run_cli(segment_volume, [threshold_model['with_meta'], tmp_path / 'in.nii.gz',
                                              tmp_path / 'out.nii.gz', '--net', 'mean', '--overlap', 0.5,
                                              '--batch-windows', 5, '--threads', 1, '--device', 'cpu'])
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    assert code == 0, err
    assert threads == 1
    assert '24 windows x 2 network(s), 5 per pass' in out and '48/48' in err  # progress bar at the end
    assert seen == [((4, 4, 4), 5), ((4, 4, 4), 5)]
    np.testing.assert_array_equal(np.asarray(nib.load(str(tmp_path / 'out.nii.gz')).dataobj),
                                  _expected_mask(vol, 'mean'))
    # overlap 0: strides = patch: x starts {0, 8, 12}, y {0, 6}, z {0, 2} -> 12 windows
    code, out, err = run_cli(segment_volume, [threshold_model['config'], threshold_model['bare'],
                                              tmp_path / 'in.nii.gz', tmp_path / 'o2.nii', '--overlap', 0,
                                              '--device', 'cpu'])
    assert code == 0 and 'strides (8, 8, 8): 12 windows x 1 network(s), 1 per pass' in out and '12/12' in err
    np.testing.assert_array_equal(np.asarray(nib.load(str(tmp_path / 'o2.nii')).dataobj),
                                  _expected_mask(vol, 'net1'))


@pytest.mark.parametrize('kind, with_config, message', [
    ('linear', False, 'stores no config'),
    ('linear', True, 'does not match model TraCoCo'),
    ('gridformer', False, 'describes a GridFormer model; volume segmentation needs TraCoCo'),
    ('gridformer', True, 'does not match model TraCoCo'),
])
def test_wrong_checkpoints_are_refused(kind, with_config, message, foreign_checkpoints, tmp_path, run_cli):
    _volume(tmp_path / 'in.nii.gz')
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    argv = [foreign_checkpoints[kind], tmp_path / 'in.nii.gz', out_dir / 'mask.nii.gz', '--device', 'cpu']
    code, _, err = run_cli(segment_volume, argv + (['--config', TRACOCO_TINY] if with_config else []))
    assert code == 2 and err.startswith('error: ') and message in err and 'Traceback' not in err
    assert str(foreign_checkpoints[kind]) in err
    assert list(out_dir.iterdir()) == []


def test_bad_volumes_give_one_error_line(threshold_model, tmp_path, run_cli):
    _volume(tmp_path / 'full.nii.gz')
    raw = gzip.decompress((tmp_path / 'full.nii.gz').read_bytes())
    (tmp_path / 'trunc.nii.gz').write_bytes(gzip.compress(raw[:len(raw) // 2]))  # data cut in half
    (tmp_path / 'cut.nii.gz').write_bytes((tmp_path / 'full.nii.gz').read_bytes()[:-200])  # gzip stream cut
    nib.save(nib.Nifti1Image(np.zeros((8, 8), np.float32), np.eye(4)), str(tmp_path / 'flat.nii'))
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    for name, message in [('trunc.nii.gz', 'not a readable NIfTI volume'),
                          ('cut.nii.gz', 'not a readable NIfTI volume'),
                          ('flat.nii', 'expected a 3D volume (X, Y, Z), got an array of shape (8, 8)'),
                          ('absent.nii', 'not found')]:
        code, _, err = run_cli(segment_volume, [threshold_model['with_meta'], tmp_path / name,
                                                out_dir / 'mask.nii', '--device', 'cpu'])
        assert code == 2, err
        assert err.splitlines()[0].startswith(f'error: {tmp_path / name}') and message in err, err
        assert 'Traceback' not in err
    assert list(out_dir.iterdir()) == []


def test_options_are_checked_before_inference(tmp_path, run_cli):
    """The output suffix (and the other options) are refused before the input or checkpoint is touched."""
    for extra, message in [([], 'must end in .nii or .nii.gz'),
                           (['--overlap', 1.0], '--overlap must be in [0, 1)'),
                           (['--batch-windows', 0], '--batch-windows must be >= 1')]:
        out = tmp_path / ('mask.png' if not extra else 'mask.nii')
        code, _, err = run_cli(segment_volume, [tmp_path / 'absent.pth', tmp_path / 'absent.nii', out, *extra])
        assert code == 2 and message in err
    assert list(tmp_path.iterdir()) == []
