"""TraCoCo inference with hand-built networks (mean of both nets) and demo/segment_volume.py (NIfTI in and out)."""
import importlib.util

import nibabel as nib
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tests.conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location('segment_volume', REPO_ROOT / 'demo' / 'segment_volume.py')
segment_volume = importlib.util.module_from_spec(spec)
spec.loader.exec_module(segment_volume)


@pytest.fixture()
def tiny_ckpt(tmp_path):
    cfg_path = tmp_path / 'tiny.py'
    base = REPO_ROOT / 'configs/tracoco/tracoco_vnet-tiny_1xb4-150it_demo-4lab-32x32x32.py'
    cfg_path.write_text(f"_base_ = ['{base}']\nmodel = dict(backbone=dict(base_channels=2), "
                        "test_cfg=dict(patch_size=(16, 16, 16), strides=(8, 8, 8)))\n")
    init_default_scope('visionx')
    from visionx.registry import MODELS
    model = MODELS.build(Config.fromfile(str(cfg_path)).model)
    ckpt = tmp_path / 'tiny.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    return cfg_path, ckpt


class _Threshold3D(nn.Module):
    """Logits ``[0, k (x - t)]`` per voxel (a 1x1x1 convolution), so P(foreground) = sigmoid(k (x - t))."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


THRESHOLD_NET = 'TestThreshold3D'
#: (k, t) of net1 and net2: net1 is steep at 0.6, net2 shallow at 0.2, so their mean differs from both.
NET_PARAMS = {'net1': (20.0, 0.6), 'net2': (4.0, 0.2)}


def _threshold_state() -> dict[str, torch.Tensor]:
    state = {}
    for net, (k, t) in NET_PARAMS.items():
        state[f'{net}.conv.weight'] = torch.tensor([0.0, k]).view(2, 1, 1, 1, 1)
        state[f'{net}.conv.bias'] = torch.tensor([0.0, -k * t])
    return state


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@pytest.fixture()
def threshold_ckpt(tmp_path):
    """A TraCoCo config whose two networks are :class:`_Threshold3D`, and a checkpoint with known weights."""
    from visionx.registry import MODELS
    MODELS.register_module(name=THRESHOLD_NET, module=_Threshold3D, force=True)
    cfg_path = tmp_path / 'threshold.py'
    base = REPO_ROOT / 'configs/tracoco/tracoco_vnet-tiny_1xb4-150it_demo-4lab-32x32x32.py'
    cfg_path.write_text(f"_base_ = ['{base}']\nmodel = dict(backbone=dict(_delete_=True, type='{THRESHOLD_NET}'), "
                        "test_cfg=dict(patch_size=(8, 8, 8), strides=(4, 4, 4)))\n")
    init_default_scope('visionx')
    model = MODELS.build(Config.fromfile(str(cfg_path)).model)
    model.load_state_dict(_threshold_state(), strict=False)  # the networks; buffers (iteration count) kept
    ckpt = tmp_path / 'threshold.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    return cfg_path, ckpt


def test_mean_output_is_the_mean_of_both_probabilities(threshold_ckpt):
    cfg_path, _ = threshold_ckpt
    init_default_scope('visionx')
    from visionx.registry import MODELS
    cfg = Config.fromfile(str(cfg_path))
    cfg.model.test_cfg.update(output='mean', eval_nets=('net1', 'net2'))
    model = MODELS.build(cfg.model)
    missing, unexpected = model.load_state_dict(_threshold_state(), strict=False)
    assert not unexpected and set(missing) <= {'iter_count'}  # every parameter is set by hand
    model.eval()
    x = np.random.default_rng(0).random((10, 9, 11)).astype(np.float32)
    with torch.no_grad():
        [sample] = model.predict([torch.from_numpy(x)[None]])
        probs = {n: model.predict_probs(torch.from_numpy(x)[None], n)[1].numpy() for n in NET_PARAMS}
    p = {n: _sigmoid(k * (x.astype(np.float64) - t)) for n, (k, t) in NET_PARAMS.items()}
    for n in NET_PARAMS:
        np.testing.assert_allclose(probs[n], p[n], atol=1e-5)
        np.testing.assert_array_equal(sample.get(f'pred_label_{n}'), (p[n] > 0.5).astype(np.uint8))
    expected = ((p['net1'] + p['net2']) / 2 > 0.5).astype(np.uint8)
    np.testing.assert_array_equal(sample.pred_label, expected)
    # The case discriminates: the mean differs from each network alone.
    assert (expected != sample.pred_label_net1).any() and (expected != sample.pred_label_net2).any()


def test_segment_nifti_roundtrip(threshold_ckpt, tmp_path):
    """NIfTI in, mask out: equal to the hand-computed mask of the known networks on the min-max normalised scan."""
    cfg_path, ckpt = threshold_ckpt
    affine = np.diag([0.625, 0.625, 1.25, 1.0])
    rng = np.random.default_rng(0)
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in (20, 14, 10)], indexing='ij'))
    ball = ((grid - np.array([10, 7, 5])[:, None, None, None]) ** 2).sum(0) <= 4.5 ** 2  # the known label
    vol = (100.0 + 400.0 * ball + rng.normal(0, 20, ball.shape)).astype(np.float32)  # z smaller than the patch
    nib.save(nib.Nifti1Image(vol, affine), str(tmp_path / 'in.nii.gz'))
    segment_volume.main([str(cfg_path), str(ckpt), str(tmp_path / 'in.nii.gz'), str(tmp_path / 'out.nii.gz'),
                         '--net', 'mean', '--device', 'cpu'])
    out = nib.load(str(tmp_path / 'out.nii.gz'))
    assert out.shape == vol.shape and np.allclose(out.affine, affine)
    assert out.get_data_dtype() == np.uint8
    mask = np.asarray(out.dataobj)
    x = (vol.astype(np.float64) - vol.min()) / (vol.max() - vol.min())
    mean_fg = np.mean([_sigmoid(k * (x - t)) for k, t in NET_PARAMS.values()], axis=0)
    np.testing.assert_array_equal(mask, (mean_fg > 0.5).astype(np.uint8))
    dice = 2 * (mask.astype(bool) & ball).sum() / (mask.sum() + ball.sum())
    assert dice > 0.9, f'Dice {dice:.3f} against the known ball'


def test_segment_keeps_the_configs_test_options_unless_flags_are_given(threshold_ckpt, tmp_path):
    """A config saying output='mean' segments with the mean without --net (the flag only overrides);
    --net net1 still overrides it."""
    cfg_path, ckpt = threshold_ckpt
    mean_cfg = tmp_path / 'mean.py'
    mean_cfg.write_text(f"_base_ = ['{cfg_path}']\nmodel = dict(test_cfg=dict(output='mean'))\n")
    vol = np.random.default_rng(1).random((12, 10, 9)).astype(np.float32)
    nib.save(nib.Nifti1Image(vol, np.eye(4)), str(tmp_path / 'in.nii.gz'))
    x = (vol.astype(np.float64) - vol.min()) / (vol.max() - vol.min())
    p = {n: _sigmoid(k * (x - t)) for n, (k, t) in NET_PARAMS.items()}
    for flags, expected in (([], (p['net1'] + p['net2']) / 2 > 0.5), (['--net', 'net1'], p['net1'] > 0.5)):
        out = tmp_path / f'out{len(flags)}.nii.gz'
        segment_volume.main([str(mean_cfg), str(ckpt), str(tmp_path / 'in.nii.gz'), str(out), '--device', 'cpu',
                             *flags])
        np.testing.assert_array_equal(np.asarray(nib.load(str(out)).dataobj), expected.astype(np.uint8))
    assert ((p['net1'] > 0.5) != ((p['net1'] + p['net2']) / 2 > 0.5)).any()  # the two cases differ


def test_post_min_size_with_keep_largest_is_refused(threshold_ckpt, tmp_path):
    from visionx.utils import ConfigError
    cfg_path, ckpt = threshold_ckpt
    with pytest.raises(ConfigError, match='--post-min-size and --keep-largest'):
        segment_volume.main([str(cfg_path), str(ckpt), str(tmp_path / 'in.nii'), str(tmp_path / 'o.nii'),
                             '--post-min-size', '10', '--keep-largest'])


def test_segment_rejects_bad_inputs(tiny_ckpt, tmp_path):
    cfg_path, ckpt = tiny_ckpt
    nib.save(nib.Nifti1Image(np.zeros((8, 8), np.float32), np.eye(4)), str(tmp_path / 'flat.nii'))
    with pytest.raises(ValueError, match='3D volume'):
        segment_volume.main([str(cfg_path), str(ckpt), str(tmp_path / 'flat.nii'), str(tmp_path / 'o.nii')])
    with pytest.raises(FileNotFoundError):
        segment_volume.main([str(cfg_path), str(ckpt), str(tmp_path / 'absent.nii'), str(tmp_path / 'o.nii')])
