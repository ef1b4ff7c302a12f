"""TopoMortar dataset, transforms and synthetic generator."""
from __future__ import annotations

import numpy as np
import pytest
import yaml
from mmengine.registry import init_default_scope

from visionx.datasets.topomortar import (RandHue, TopoMortarAugment, TopoMortarDataset, TubedSkeleton,
                                         ZScoreNormalize)
from visionx.datasets.topomortar.dataset import read_groups
from visionx.evaluation.metrics.topology import betti_numbers

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='ZScoreNormalize'),
            dict(type='TubedSkeleton'), dict(type='PackTopoMortarInputs')]


@pytest.fixture(scope='module')
def root(demo_root):
    init_default_scope('visionx')
    return demo_root / 'topomortar'


def test_layout(root):
    for split, kinds in (('train', ('images', 'accurate', 'noisy', 'pseudo')),
                         ('val', ('images', 'accurate', 'noisy', 'pseudo')), ('test', ('images', 'accurate'))):
        for k in kinds:
            assert any((root / split / k).glob('*.png')), (split, k)
    splits = yaml.safe_load((root / 'splits.yaml').read_text())[1]
    small = yaml.safe_load((root / 'splits_small.yaml').read_text())[1]
    assert set(small['train']) < set(splits['train']) and small['test'] == splits['test']
    groups = read_groups(root / 'dataset_types.txt')
    assert set(groups.values()) == {'indistr', 'angles', 'colors', 'occlusion'}


def test_dataset_labels_and_groups(root):
    ds = TopoMortarDataset(data_root=str(root), split='test', pipeline=PIPELINE)
    assert len(ds) == 4
    groups = {ds[i]['data_samples'].group for i in range(len(ds))}
    assert groups == {'indistr', 'angles', 'colors', 'occlusion'}
    sample = ds[0]['data_samples']
    labels = sample.gt_sem_seg.data
    assert set(labels.unique().tolist()) == {0, 1}          # 255 mapped to 1
    skel = sample.gt_skeleton.data
    assert skel.shape == labels.shape and bool((skel <= labels).all()) and skel.sum() > 0
    # the label of the generated wall encloses bricks: beta_1 > 0 as stored in betti_numbers.csv
    b0, b1 = betti_numbers(labels[0].numpy() == 1)
    assert b1 > 5


@pytest.mark.parametrize('label_type', ['accurate', 'noisy', 'pseudo'])
def test_label_types_and_sizes(root, label_type):
    large = TopoMortarDataset(data_root=str(root), split='train', label_type=label_type, pipeline=[])
    small = TopoMortarDataset(data_root=str(root), split='train', label_type=label_type, size='small', pipeline=[])
    assert len(small) < len(large)
    assert all(f'/{label_type}/' in d['seg_map_path'] for d in large.data_list)
    test = TopoMortarDataset(data_root=str(root), split='test', label_type=label_type, pipeline=[])
    assert all('/accurate/' in d['seg_map_path'] for d in test.data_list)


def test_bad_inputs(root, tmp_path):
    with pytest.raises(ValueError, match='label_type'):
        TopoMortarDataset(data_root=str(root), label_type='bad')
    with pytest.raises(FileNotFoundError, match='splits.yaml'):
        TopoMortarDataset(data_root=str(tmp_path), pipeline=[])
    (tmp_path / 'splits.yaml').write_text(yaml.safe_dump({1: {'train': ['dataset/train/images/999.png']}}))
    with pytest.raises(FileNotFoundError, match='999.png'):
        TopoMortarDataset(data_root=str(tmp_path), pipeline=[])


def test_transforms():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (32, 32, 3)).astype(np.uint8)
    seg = np.zeros((32, 32), np.uint8)
    seg[10:14] = 1
    out = ZScoreNormalize()(dict(img=img))
    assert np.allclose(out['img'].mean((0, 1)), 0, atol=1e-5) and np.allclose(out['img'].std((0, 1)), 1, atol=1e-4)
    np.random.seed(0)
    aug = TopoMortarAugment()
    for _ in range(5):
        r = aug(dict(img=out['img'].copy(), gt_seg_map=seg.copy()))
        assert r['img'].shape == (32, 32, 3) and r['img'].dtype == np.float32
        assert set(np.unique(r['gt_seg_map'])) <= {0, 1}
    off = TopoMortarAugment(prob_scale=0)(dict(img=out['img'].copy(), gt_seg_map=seg.copy()))
    assert np.allclose(off['img'], out['img']) and (off['gt_seg_map'] == seg).all()
    hue = RandHue(prob=1.0)(dict(img=img.astype(np.float32)))
    assert hue['img'].min() >= img.min() - 1e-3 and hue['img'].max() <= img.max() + 1e-3
    # one constant hue: every saturated pixel of the output has the same hue, which the input's did not
    import cv2
    colours = np.random.default_rng(3).uniform(0, 255, (16, 16, 3)).astype(np.float32)
    colours[0, 0], colours[-1, -1] = 0, 255  # the range the transform restores

    def hues(x):
        hsv = cv2.cvtColor(np.clip((x - 0) / 255, 0, 1).astype(np.float32), cv2.COLOR_BGR2HSV)
        angle = np.deg2rad(hsv[..., 0][hsv[..., 1] > 0.2])
        centre = np.angle(np.exp(1j * angle).mean())
        return np.rad2deg(np.abs(np.angle(np.exp(1j * (angle - centre))))).max()  # largest circular deviation

    np.random.seed(1)
    recoloured = RandHue(prob=1.0)(dict(img=colours.copy()))['img']
    assert hues(colours) > 90 and hues(recoloured) < 1.0
    assert TubedSkeleton()(dict(gt_seg_map=seg))['gt_skeleton'].sum() > 0
    with pytest.raises(ValueError):
        RandHue(prob=2)


def test_unexpected_label_values_warn_once_per_file_and_are_kept(tmp_path):
    """A label PNG with 6 pixels of value 8 (as the real test/accurate/163.png): one warning naming the
    file, the value and the count; the values are kept (8 stays class 8, as in the official code)."""
    import logging

    import mmcv
    from mmengine.logging import MMLogger

    init_default_scope('visionx')
    for kind in ('images', 'accurate'):
        (tmp_path / 'train' / kind).mkdir(parents=True)
    mmcv.imwrite(np.full((16, 16, 3), 128, np.uint8), str(tmp_path / 'train/images/001.png'))
    label = np.zeros((16, 16), np.uint8)
    label[4:8] = 255
    label[12, 2:8] = 8
    label_path = tmp_path / 'train/accurate/001.png'
    mmcv.imwrite(label, str(label_path))
    (tmp_path / 'splits.yaml').write_text(yaml.safe_dump({1: {'train': ['dataset/train/images/001.png']}}))

    records = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append
    logger = MMLogger.get_instance(f'test_topomortar_labels_{id(tmp_path)}')  # becomes the current logger
    logger.addHandler(handler)
    try:
        datasets = [TopoMortarDataset(data_root=str(tmp_path), pipeline=[dict(type='LoadAnnotations')])
                    for _ in range(2)]
    finally:
        logger.removeHandler(handler)
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert str(label_path) in warnings[0] and 'value 8: 6 pixels' in warnings[0]
    seg = datasets[1][0]['gt_seg_map']
    values, counts = np.unique(seg, return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist())) == {0: 16 * 16 - 64 - 6, 1: 64, 8: 6}
