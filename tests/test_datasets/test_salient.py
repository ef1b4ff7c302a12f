"""SalientDataset, the salient transforms and the synthetic DUTS-style generator."""
import cv2
import numpy as np
import pytest
import torch

from visionx.datasets.salient import LoadSalientMask, NormalizeByMax, PackSalientInputs, SalientDataset, read_mask
from visionx.datasets.salient.synthetic import make_demo, make_sample
from visionx.registry import DATASETS


@pytest.fixture(autouse=True)
def visionx_scope():
    """Configs run with default_scope='visionx'; pipelines built here need the same scope."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('visionx'):
        yield


def test_synthetic_layout_and_determinism(tmp_path):
    make_demo(tmp_path / 'a', seed=3, small=True)
    make_demo(tmp_path / 'b', seed=3, small=True)
    imgs = sorted((tmp_path / 'a/DUTS-TR/DUTS-TR-Image').glob('*.jpg'))
    masks = sorted((tmp_path / 'a/DUTS-TR/DUTS-TR-Mask').glob('*.png'))
    assert len(imgs) == len(masks) == 8
    assert len(list((tmp_path / 'a/DUTS-TE/DUTS-TE-Image').glob('*.jpg'))) == 4
    assert [p.stem for p in imgs] == [p.stem for p in masks]
    assert (tmp_path / 'a' / masks[0].relative_to(tmp_path / 'a')).read_bytes() == \
        (tmp_path / 'b' / masks[0].relative_to(tmp_path / 'a')).read_bytes()
    img, mask = make_sample(np.random.default_rng(0), 60, 70)
    assert img.shape == (60, 70, 3) and mask.shape == (60, 70) and mask.dtype == np.uint8
    assert mask.max() == 255 and 0.02 < (mask > 127).mean() < 0.9
    assert ((mask > 0) & (mask < 255)).any()  # anti-aliased soft edges


def test_read_mask_scales_and_soft_values(tmp_path):
    m = np.array([[0, 128], [255, 255]], np.uint8)
    cv2.imwrite(str(tmp_path / 'm.png'), m)
    np.testing.assert_allclose(read_mask(str(tmp_path / 'm.png')), m / 255.0, atol=1e-6)
    cv2.imwrite(str(tmp_path / 'h.png'), np.array([[0, 100]], np.uint8))
    np.testing.assert_allclose(read_mask(str(tmp_path / 'h.png')), [[0, 1]])  # official: divide by max
    np.testing.assert_allclose(read_mask(str(tmp_path / 'h.png'), 'dtype'), [[0, 100 / 255]], atol=1e-6)
    cv2.imwrite(str(tmp_path / 'w.png'), np.array([[0, 65535]], np.uint16))
    np.testing.assert_allclose(read_mask(str(tmp_path / 'w.png'), 'dtype'), [[0, 1]])
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0, 2] = 255  # red in BGR
    cv2.imwrite(str(tmp_path / 'c.png'), rgb)
    assert read_mask(str(tmp_path / 'c.png'))[0, 0] == 1.0
    with pytest.raises(FileNotFoundError):
        read_mask(str(tmp_path / 'missing.png'))
    (tmp_path / 'bad.png').write_text('x')
    with pytest.raises(ValueError, match='bad.png'):
        read_mask(str(tmp_path / 'bad.png'))


def test_dataset_pipeline_keeps_soft_float_gt(demo_root):
    root = demo_root / 'basnet'
    ds = DATASETS.build(dict(
        type='SalientDataset', data_root=str(root), dataset_name='toy',
        data_prefix=dict(img_path='DUTS-TR/DUTS-TR-Image', seg_map_path='DUTS-TR/DUTS-TR-Mask'),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadSalientMask'),
                  dict(type='Resize', scale=(40, 40), keep_ratio=False),
                  dict(type='RandomCrop', crop_size=(32, 32)), dict(type='NormalizeByMax'),
                  dict(type='PackSalientInputs')]))
    assert len(ds) == 8
    item = ds[0]
    gt = item['data_samples'].gt_sem_seg.data
    assert item['inputs'].shape == (3, 32, 32) and gt.shape == (1, 32, 32)
    assert gt.dtype == torch.float32 and 0 <= gt.min() and gt.max() <= 1 and gt.max() > 0.5
    assert item['data_samples'].metainfo['dataset_name'] == 'toy'
    assert item['inputs'].max() == pytest.approx(255, abs=1e-3)  # NormalizeByMax


def test_test_pipeline_keeps_gt_at_original_size(demo_root):
    ds = SalientDataset(
        data_root=str(demo_root / 'basnet'),
        data_prefix=dict(img_path='DUTS-TE/DUTS-TE-Image', seg_map_path='DUTS-TE/DUTS-TE-Mask'),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='Resize', scale=(32, 32), keep_ratio=False),
                  dict(type='LoadSalientMask'), dict(type='PackSalientInputs')])
    item = ds[0]
    ori = item['data_samples'].metainfo['ori_shape']
    assert item['inputs'].shape[-2:] == (32, 32)
    assert tuple(item['data_samples'].gt_sem_seg.data.shape[-2:]) == tuple(ori)


def test_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='image folder'):
        SalientDataset(data_root=str(tmp_path), data_prefix=dict(img_path='nope', seg_map_path='gt'))
    (tmp_path / 'im').mkdir()
    (tmp_path / 'gt').mkdir()
    with pytest.raises(ValueError, match='no \\*.jpg image'):
        SalientDataset(data_root=str(tmp_path), data_prefix=dict(img_path='im', seg_map_path='gt'))
    cv2.imwrite(str(tmp_path / 'im' / 'x.jpg'), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(FileNotFoundError, match='x.png'):
        SalientDataset(data_root=str(tmp_path), data_prefix=dict(img_path='im', seg_map_path='gt'))


def test_transform_units():
    out = NormalizeByMax()(dict(img=np.array([[[0, 50, 100]]], np.uint8)))
    np.testing.assert_allclose(out['img'], [[[0, 127.5, 255]]])
    with pytest.raises(ValueError):
        LoadSalientMask(scale='bogus')
    packed = PackSalientInputs()(dict(img=np.zeros((4, 4, 3), np.float32),
                                      gt_seg_map=np.full((4, 4), 0.25, np.float32)))
    assert packed['data_samples'].gt_sem_seg.data.unique().tolist() == [0.25]
