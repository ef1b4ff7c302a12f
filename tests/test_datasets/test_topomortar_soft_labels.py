"""Self-distillation soft labels in the data pipeline: I/O, LoadSoftLabels, augmentation, cropping, packing."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from visionx.datasets.topomortar import (LoadSoftLabels, PackTopoMortarInputs, TopoMortarAugment,
                                         TopoMortarDataset, load_soft_label, save_soft_label, soft_label_path)
from visionx.registry import TRANSFORMS


def _soft(seg: np.ndarray, seed: int = 0) -> np.ndarray:
    """A (2, H, W) probability map agreeing with ``seg`` (fg prob in (0.55, 0.95) on seg, below 0.45 off it)."""
    rng = np.random.default_rng(seed)
    fg = np.where(seg > 0, rng.uniform(0.55, 0.95, seg.shape), rng.uniform(0.05, 0.45, seg.shape))
    return np.stack([1 - fg, fg]).astype(np.float32)


def _sample(size=40):
    rng = np.random.default_rng(1)
    img = rng.normal(size=(size, size, 3)).astype(np.float32)
    seg = np.zeros((size, size), np.uint8)
    seg[8:12] = 1
    seg[:, 20:23] = 1
    return img, seg


def test_save_and_load_round_trip(tmp_path):
    _, seg = _sample()
    probs = _soft(seg)
    path = soft_label_path(tmp_path / 'round_2', 'data/train/images/007.png')
    assert path == tmp_path / 'round_2' / '007.npy'
    save_soft_label(path, probs)
    assert [p.name for p in path.parent.iterdir()] == ['007.npy']   # no temporary file left behind
    np.testing.assert_array_equal(load_soft_label(path), probs)
    with pytest.raises(FileNotFoundError, match='008.npy'):
        load_soft_label(path.with_name('008.npy'))
    with pytest.raises(ValueError, match='sum to 1'):
        save_soft_label(tmp_path / 'bad.npy', probs * 0.5)
    with pytest.raises(ValueError, match=r'\(C, H, W\)'):
        save_soft_label(tmp_path / 'bad.npy', probs[1])
    with pytest.raises(ValueError, match='.npy'):
        save_soft_label(tmp_path / 'bad.png', probs)


def test_load_soft_labels_transform(tmp_path):
    img, seg = _sample()
    probs = _soft(seg)
    save_soft_label(tmp_path / '001.npy', probs)
    base = dict(img_path='x/images/001.png', img=img, gt_seg_map=np.zeros_like(seg), seg_fields=['gt_seg_map'])
    assert LoadSoftLabels()(dict(base)) == base                       # round 1: no-op
    out = LoadSoftLabels(soft_label_dir=tmp_path)(dict(base, seg_fields=['gt_seg_map']))
    assert out['gt_soft_seg'].shape == (40, 40, 2) and out['gt_soft_seg'].dtype == np.float32
    np.testing.assert_array_equal(out['gt_soft_seg'], probs.transpose(1, 2, 0))
    assert out['seg_fields'] == ['gt_seg_map', 'gt_soft_seg']
    np.testing.assert_array_equal(out['gt_seg_map'], seg)            # arg-max replaces the hard label
    assert out['gt_seg_map'].dtype == seg.dtype
    kept = LoadSoftLabels(soft_label_dir=tmp_path, replace_hard=False)(dict(base, seg_fields=[]))
    assert not kept['gt_seg_map'].any()
    with pytest.raises(ValueError, match='does not match the image'):
        LoadSoftLabels(soft_label_dir=tmp_path)(dict(base, img=img[:30]))
    with pytest.raises(FileNotFoundError, match='002.npy'):
        LoadSoftLabels(soft_label_dir=tmp_path)(dict(base, img_path='x/images/002.png'))


def test_augment_resamples_soft_labels_bilinearly_with_the_same_draws():
    img, seg = _sample()
    soft = _soft(seg).transpose(1, 2, 0)
    np.random.seed(0)
    hard_only = TopoMortarAugment(prob_scale=4)   # every geometric transform fires often
    plain = [hard_only(dict(img=img.copy(), gt_seg_map=seg.copy())) for _ in range(8)]
    np.random.seed(0)
    with_soft = TopoMortarAugment(prob_scale=4)
    outs = [with_soft(dict(img=img.copy(), gt_seg_map=seg.copy(), gt_soft_seg=soft.copy())) for _ in range(8)]
    moved = 0
    for a, b in zip(plain, outs):
        np.testing.assert_array_equal(a['img'], b['img'])              # soft labels do not change the draws
        np.testing.assert_array_equal(a['gt_seg_map'], b['gt_seg_map'])
        s = b['gt_soft_seg']
        assert s.shape == (40, 40, 2) and s.dtype == np.float32
        np.testing.assert_allclose(s.sum(-1), 1, atol=1e-5)
        assert s.min() >= -1e-6 and s.max() <= 1 + 1e-6
        # soft and hard labels moved together (they differ only along interpolated edges)
        assert (s.argmax(-1) == b['gt_seg_map']).mean() > 0.9
        moved += not np.array_equal(b['gt_seg_map'], seg)
    assert moved >= 4


def test_random_crop_and_packing_keep_soft_labels(tmp_path):
    init_default_scope('visionx')
    img, seg = _sample()
    save_soft_label(tmp_path / '001.npy', _soft(seg))
    results = dict(img_path='x/images/001.png', img=img, gt_seg_map=seg.copy(), seg_fields=['gt_seg_map'],
                   ori_shape=seg.shape, img_shape=seg.shape, reduce_zero_label=False)
    results = LoadSoftLabels(soft_label_dir=tmp_path)(results)
    np.random.seed(3)
    results = TRANSFORMS.build(dict(type='RandomCrop', crop_size=(24, 24)))(results)
    assert results['gt_soft_seg'].shape == (24, 24, 2)
    np.testing.assert_array_equal(results['gt_soft_seg'].argmax(-1), results['gt_seg_map'])
    packed = PackTopoMortarInputs()(dict(results))
    ds = packed['data_samples']
    assert ds.gt_soft_seg.data.dtype == torch.float32 and ds.gt_soft_seg.data.shape == (2, 24, 24)
    assert ds.gt_sem_seg.data.dtype == torch.int64 and ds.gt_sem_seg.data.shape == (1, 24, 24)
    torch.testing.assert_close(ds.gt_soft_seg.data, torch.from_numpy(results['gt_soft_seg'].transpose(2, 0, 1)))
    # a soft label padded with mmseg's seg_pad_val (255) is caught at packing time
    bad = dict(results, gt_soft_seg=np.pad(results['gt_soft_seg'], ((0, 2), (0, 0), (0, 0)),
                                           constant_values=255))
    with pytest.raises(ValueError, match='probabilities'):
        PackTopoMortarInputs()(bad)


def test_dataset_pipeline_with_soft_labels(demo_root, tmp_path):
    init_default_scope('visionx')
    root = demo_root / 'topomortar'
    plain = TopoMortarDataset(data_root=str(root), split='train', pipeline=[])
    for i in range(len(plain)):
        info = plain.get_data_info(i)
        h, w = cv2.imread(info['img_path']).shape[:2]
        save_soft_label(soft_label_path(tmp_path, info['img_path']), _soft(np.zeros((h, w)), seed=i))
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                dict(type='LoadSoftLabels', soft_label_dir=str(tmp_path)), dict(type='ZScoreNormalize'),
                dict(type='TopoMortarAugment'), dict(type='RandomCrop', crop_size=(64, 64)),
                dict(type='TubedSkeleton'), dict(type='PackTopoMortarInputs')]
    ds = TopoMortarDataset(data_root=str(root), split='train', pipeline=pipeline)
    sample = ds[0]['data_samples']
    assert sample.gt_soft_seg.data.shape == (2, 64, 64)
    assert not sample.gt_sem_seg.data.any()          # arg-max of an all-background soft label
    assert not sample.gt_skeleton.data.any()         # the skeleton follows the distilled label
