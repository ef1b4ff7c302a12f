"""demo/segment_volume.py: NIfTI in, NIfTI mask out, bad inputs rejected."""
import importlib.util

import nibabel as nib
import numpy as np
import pytest
import torch
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


def test_segment_nifti_roundtrip(tiny_ckpt, tmp_path):
    cfg_path, ckpt = tiny_ckpt
    affine = np.diag([0.625, 0.625, 1.25, 1.0])
    vol = np.random.default_rng(0).random((20, 14, 10)).astype(np.float32)  # smaller than the patch in z
    nib.save(nib.Nifti1Image(vol, affine), str(tmp_path / 'in.nii.gz'))
    segment_volume.main([str(cfg_path), str(ckpt), str(tmp_path / 'in.nii.gz'), str(tmp_path / 'out.nii.gz'),
                         '--net', 'mean', '--device', 'cpu'])
    out = nib.load(str(tmp_path / 'out.nii.gz'))
    assert out.shape == vol.shape and np.allclose(out.affine, affine)
    assert out.get_data_dtype() == np.uint8 and set(np.unique(np.asarray(out.dataobj))) <= {0, 1}


def test_segment_rejects_bad_inputs(tiny_ckpt, tmp_path):
    cfg_path, ckpt = tiny_ckpt
    nib.save(nib.Nifti1Image(np.zeros((8, 8), np.float32), np.eye(4)), str(tmp_path / 'flat.nii'))
    with pytest.raises(ValueError, match='3D volume'):
        segment_volume.main([str(cfg_path), str(ckpt), str(tmp_path / 'flat.nii'), str(tmp_path / 'o.nii')])
    with pytest.raises(FileNotFoundError):
        segment_volume.main([str(cfg_path), str(ckpt), str(tmp_path / 'absent.nii'), str(tmp_path / 'o.nii')])
