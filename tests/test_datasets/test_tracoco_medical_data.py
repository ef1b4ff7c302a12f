"""TraCoCo data: h5 datasets, translated-view crop, 3D transforms, two-stream sampler, bad inputs."""
from pathlib import Path

import h5py
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from visionx.datasets.medical import (LAHeartDataset, LoadH5Volume, MinMaxNormalize3D, PackVolumeInputs,
                                      RandomBrightness3D, RandomRotFlip3D, TranslatedViewCrop3D,
                                      TwoStreamBatchSampler)
from visionx.datasets.medical.synthetic import make_volume

TRAIN_PIPE = [dict(type='LoadH5Volume'), dict(type='RandomRotFlip3D'), dict(type='MinMaxNormalize3D'),
              dict(type='RandomBrightness3D'), dict(type='TranslatedViewCrop3D', patch_size=(32, 32, 16)),
              dict(type='PackVolumeInputs')]


def _write_h5(path: Path, **arrays) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, 'w') as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=v)
    return path


def test_la_dataset_on_demo(demo_root):
    init_default_scope('visionx')
    root = demo_root / 'tracoco'
    ds = LAHeartDataset(data_root=str(root), split_file='train.list', labeled_num=4, pipeline=TRAIN_PIPE)
    assert len(ds) == 6 and ds.labeled_indices == [0, 1, 2, 3] and ds.unlabeled_indices == [4, 5]
    out = ds[0]
    assert out['inputs'].shape == (2, 1, 32, 32, 16)
    sample = out['data_samples']
    assert sample.gt_label.shape == (2, 32, 32, 16) and sample.is_labeled
    (bm, bt) = sample.overlap
    v = out['inputs'][:, 0]
    a = v[0][bm[0][0]:bm[0][1], bm[1][0]:bm[1][1], bm[2][0]:bm[2][1]]
    b = v[1][bt[0][0]:bt[0][1], bt[1][0]:bt[1][1], bt[2][0]:bt[2][1]]
    assert a.numel() > 0 and np.array_equal(a.numpy(), b.numpy())  # the overlap shows the same voxels
    assert 0 <= float(v.min()) and float(v.max()) <= 1
    ev = LAHeartDataset(data_root=str(root), split_file='eval.list', test_mode=True,
                        pipeline=[dict(type='LoadH5Volume'), dict(type='MinMaxNormalize3D'),
                                  dict(type='PackVolumeInputs')])
    item = ev[0]
    assert item['inputs'].dim() == 4 and item['data_samples'].gt_label.shape == item['inputs'].shape[1:]


def test_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='train.list'):
        LAHeartDataset(data_root=str(tmp_path))
    (tmp_path / 'train.list').write_text('case_a\n\n')
    with pytest.raises(FileNotFoundError, match='mri_norm2.h5'):
        LAHeartDataset(data_root=str(tmp_path))
    _write_h5(tmp_path / 'data' / 'case_a' / 'mri_norm2.h5', image=np.zeros((4, 4, 4)), label=np.zeros((4, 4, 4)))
    assert len(LAHeartDataset(data_root=str(tmp_path))) == 1  # the trailing blank line is ignored
    with pytest.raises(ValueError, match='labeled_num'):
        LAHeartDataset(data_root=str(tmp_path), labeled_num=2)


def test_load_h5_bad_inputs(tmp_path):
    vol = np.random.rand(8, 8, 8).astype(np.float32)
    load = LoadH5Volume()
    p = _write_h5(tmp_path / 'nolabel.h5', image=vol)
    with pytest.raises(ValueError, match="missing HDF5 dataset.*'label'"):
        load(dict(h5_path=str(p)))
    p = _write_h5(tmp_path / 'flat.h5', image=vol[0], label=vol[0])
    with pytest.raises(ValueError, match='3D volume'):
        load(dict(h5_path=str(p)))
    nan = vol.copy()
    nan[0, 0, 0] = np.nan
    p = _write_h5(tmp_path / 'nan.h5', image=nan, label=np.zeros_like(vol))
    with pytest.raises(ValueError, match='NaN'):
        load(dict(h5_path=str(p)))
    assert LoadH5Volume(nan_policy='zero')(dict(h5_path=str(p)))['img'][0, 0, 0] == 0
    p = _write_h5(tmp_path / 'mismatch.h5', image=vol, label=np.zeros((8, 8, 7)))
    with pytest.raises(ValueError, match='label shape'):
        load(dict(h5_path=str(p)))
    with pytest.raises(FileNotFoundError):
        load(dict(h5_path=str(tmp_path / 'absent.h5')))
    p = _write_h5(tmp_path / 'chan.h5', image=vol[None], label=np.zeros((8, 8, 8)))
    assert load(dict(h5_path=str(p)))['img'].shape == (8, 8, 8)  # singleton channel squeezed


def test_translated_crop_geometry_and_padding():
    np.random.seed(0)
    vol = np.arange(40 * 36 * 20, dtype=np.float32).reshape(40, 36, 20)  # unique values: overlap is exact
    crop = TranslatedViewCrop3D((16, 16, 8))
    for _ in range(50):
        r = crop(dict(img=vol.copy(), gt_seg=(vol % 2).astype(np.uint8)))
        (m, t) = r['crop_origins']
        assert all(ti <= mi for ti, mi in zip(t, m))  # translated crop towards lower indices
        bm, bt = r['overlap']
        a = r['img'][bm[0][0]:bm[0][1], bm[1][0]:bm[1][1], bm[2][0]:bm[2][1]]
        b = r['trans_img'][bt[0][0]:bt[0][1], bt[1][0]:bt[1][1], bt[2][0]:bt[2][1]]
        assert a.size > 0 and np.array_equal(a, b)
        assert np.array_equal(r['img'], vol[m[0]:m[0] + 16, m[1]:m[1] + 16, m[2]:m[2] + 8])
        assert np.array_equal(r['gt_seg'], (r['img'] % 2).astype(np.uint8))
    # Smaller than the patch: x, y padded by (patch - dim)//2 + 1 per side (official); z padded to the patch.
    r = crop(dict(img=np.ones((10, 20, 5), np.float32), gt_seg=np.ones((10, 20, 5), np.uint8)))
    assert r['img'].shape == (16, 16, 8) and r['trans_img'].shape == (16, 16, 8)
    with pytest.raises(ValueError):
        TranslatedViewCrop3D((16, 16, 8), pad_z=False)(dict(img=np.ones((20, 20, 4), np.float32)))


def test_intensity_and_rotflip_transforms():
    np.random.seed(1)
    img = np.random.rand(6, 6, 3).astype(np.float32) * 5 - 2
    out = MinMaxNormalize3D()(dict(img=img))['img']
    assert out.min() == pytest.approx(0) and out.max() == pytest.approx(1)
    assert np.all(MinMaxNormalize3D()(dict(img=np.full((2, 2, 2), 3.0)))['img'] == 0)
    bright = RandomBrightness3D((2.0, 2.0))(dict(img=out.copy()))['img']
    assert np.allclose(bright, np.clip(out * 2, 0, 1))
    lbl = (img > 0).astype(np.uint8)
    r = RandomRotFlip3D()(dict(img=img.copy(), gt_seg=lbl.copy()))
    assert r['img'].shape == (6, 6, 3)
    assert np.array_equal(r['gt_seg'], (r['img'] > 0).astype(np.uint8))  # image and label move together
    assert np.allclose(np.sort(r['img'].ravel()), np.sort(img.ravel()))
    packed = PackVolumeInputs()(dict(img=out, gt_seg=lbl, case='x'))
    assert packed['inputs'].shape == (1, 6, 6, 3) and packed['data_samples'].case == 'x'


class _DS:
    labeled_indices = [0, 1, 2, 3]
    unlabeled_indices = [4, 5, 6, 7, 8, 9]


class _Sampler:
    dataset = _DS()
    seed = 3


def test_two_stream_sampler():
    s = TwoStreamBatchSampler(_Sampler(), batch_size=4, labeled_batch_size=2)
    assert len(s) == 2
    batches = [b for _ in range(5) for b in s]
    assert len(batches) == 10
    for b in batches:
        assert len(b) == 4 and set(b[:2]) <= set(_DS.labeled_indices) and set(b[2:]) <= set(_DS.unlabeled_indices)
    first_epoch = batches[:2]
    assert sorted(i for b in first_epoch for i in b[:2]) == [0, 1, 2, 3]  # each labelled once per epoch
    assert batches[:2] != batches[2:4]  # reshuffled between epochs
    only_lab = TwoStreamBatchSampler(_Sampler(), batch_size=2, labeled_batch_size=2)
    assert all(len(b) == 2 for b in only_lab)
    with pytest.raises(ValueError):
        TwoStreamBatchSampler(_Sampler(), batch_size=2, labeled_batch_size=3)


def test_synthetic_volume_properties():
    rng = np.random.default_rng(0)
    img, lbl = make_volume((40, 40, 32), rng)
    assert img.shape == lbl.shape == (40, 40, 32) and img.dtype == np.float32
    assert set(np.unique(lbl)) == {0, 1} and 0.01 < lbl.mean() < 0.3
    assert abs(img.mean()) < 1e-3 and abs(img.std() - 1) < 1e-3  # z-scored
    assert img[lbl == 1].mean() > img[lbl == 0].mean() + 1  # the target is bright
