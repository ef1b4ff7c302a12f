"""CISS protocol: task table, per-step label mapping and overlap/disjoint filtering on hand-made masks."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mmseg.datasets.transforms import LoadAnnotations
from PIL import Image

from visionx.datasets.ciss import CISSADE20KDataset, CISSVOCDataset, get_task
from visionx.utils.errors import ConfigError, DataFormatError


def test_task_table():
    t = get_task('voc', '15-1')
    assert t.classes_per_step == [16, 1, 1, 1, 1, 1]
    assert t.steps[1] == (16,) and t.steps[5] == (20,)
    assert get_task('voc', '5-3').steps[1:] == ((6, 7, 8), (9, 10, 11), (12, 13, 14), (15, 16, 17), (18, 19, 20))
    assert get_task('voc', '2-2').num_steps == 10
    assert get_task('voc', '10-1').num_steps == 11 and get_task('voc', '19-1').steps[1] == (20,)
    assert get_task('ade', '100-10').steps[2] == tuple(range(111, 121))
    assert get_task('ade', '100-5').num_steps == 11 and get_task('ade', '50-50').num_steps == 3
    b = get_task('voc', '15-1_b')
    assert b.order[:4] == [0, 12, 9, 20] and b.steps[1:] == ((17,), (3,), (6,), (18,), (10,))


def test_task_errors():
    with pytest.raises(ConfigError, match="unknown voc CISS task '15-2'"):
        get_task('voc', '15-2')
    with pytest.raises(ConfigError, match='class id 21 is outside the voc dataset'):
        get_task('voc', [[0, 1, 2], [21]])
    with pytest.raises(ConfigError, match='background'):
        get_task('voc', [[1, 2], [3]])
    with pytest.raises(ConfigError, match='steps 0..5'):
        get_task('voc', '15-1').train_lut(6)


def test_label_luts_ordered_and_shuffled():
    t = get_task('voc', '15-5')
    lut = t.train_lut(1)
    # step-1 classes kept, old (3) and background 0, ignore kept
    assert [lut[c] for c in (0, 3, 15, 16, 20, 255)] == [0, 0, 0, 16, 20, 255]
    lut0 = get_task('voc', '15-1').train_lut(0)
    assert [lut0[c] for c in (0, 3, 15, 16, 20, 255)] == [0, 3, 15, 0, 0, 255]  # future -> background
    test = get_task('voc', '15-1').test_lut(1)
    assert [test[c] for c in (0, 3, 16, 17, 255)] == [0, 3, 16, 255, 255]  # future -> ignore at test
    b = get_task('voc', '15-1_b')  # order 0,12,9,20,7,15,8,14,16,5,19,4,1,13,2,11 | 17 | 3 | ...
    assert b.train_lut(1)[17] == 16 and b.train_lut(1)[12] == 0
    assert b.test_lut(2)[12] == 1 and b.test_lut(2)[3] == 17 and b.test_lut(2)[6] == 255


def _write(root: Path, masks: dict[str, np.ndarray], split: str = 'train_aug') -> None:
    for sub in ('JPEGImages', 'SegmentationClassAug', 'ImageSets/Segmentation'):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for name, m in masks.items():
        Image.fromarray(np.zeros((*m.shape, 3), np.uint8)).save(root / 'JPEGImages' / f'{name}.jpg')
        Image.fromarray(m.astype(np.uint8), mode='L').save(root / 'SegmentationClassAug' / f'{name}.png')
    (root / 'ImageSets/Segmentation' / f'{split}.txt').write_text(''.join(f'{n}\n' for n in masks))


def _mask(*ids: int) -> np.ndarray:
    """A 2 x 4 mask: background in the first column, then one column per id, the last pixel 255."""
    m = np.zeros((2, 4), np.uint8)
    for k, c in enumerate(ids):
        m[:, k + 1] = c
    m[1, 3] = 255
    return m


@pytest.fixture
def voc(tmp_path):
    masks = {'a': _mask(16, 18), 'b': _mask(16, 3), 'c': _mask(3), 'd': _mask(17), 'e': _mask()}
    _write(tmp_path, masks)
    _write(tmp_path, masks, split='val')
    return tmp_path, masks


def _build(root, **kw):
    kw.setdefault('ann_file', 'ImageSets/Segmentation/train_aug.txt')
    return CISSVOCDataset(task='15-1', data_root=str(root), data_prefix=dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassAug'), **kw)


def _label(ds, i):
    return LoadAnnotations()(dict(ds.get_data_info(i), seg_fields=[]))['gt_seg_map']


def _names(ds):
    return [Path(ds.get_data_info(i)['seg_map_path']).stem for i in range(len(ds))]


def test_overlap_keeps_future_class_as_background(voc):
    root, masks = voc
    ds = _build(root, step=1, setting='overlap')
    assert _names(ds) == ['a', 'b']
    la, lb = _label(ds, 0), _label(ds, 1)
    # a = [0,16,18,.] with 255: 16 stays, future 18 -> 0, 255 stays
    np.testing.assert_array_equal(la, np.array([[0, 16, 0, 0], [0, 16, 0, 255]]))
    # b: old class 3 -> background
    np.testing.assert_array_equal(lb, np.array([[0, 16, 0, 0], [0, 16, 0, 255]]))
    assert ds.metainfo['ciss_num_old'] == 16 and ds.metainfo['ciss_num_seen'] == 17
    assert ds.metainfo['classes'][16] == 'pottedplant' and len(ds.metainfo['classes']) == 17


def test_disjoint_drops_future_class(voc):
    root, _ = voc
    assert _names(_build(root, step=1, setting='disjoint')) == ['b']
    # step 0 of 15-1: images holding a base class; disjoint drops those with any of 16..20
    assert _names(_build(root, step=0, setting='overlap')) == ['b', 'c']
    assert _names(_build(root, step=0, setting='disjoint')) == ['c']
    lb0 = _label(_build(root, step=0, setting='overlap'), 0)
    np.testing.assert_array_equal(lb0, np.array([[0, 0, 3, 0], [0, 0, 3, 255]]))  # future 16 -> background


def test_test_mode_maps_future_to_ignore(voc):
    root, _ = voc
    ds = _build(root, step=1, mode='test', ann_file='ImageSets/Segmentation/val.txt')
    assert _names(ds) == ['a', 'b', 'c', 'd', 'e']
    np.testing.assert_array_equal(_label(ds, 0), np.array([[0, 16, 255, 0], [0, 16, 255, 255]]))
    np.testing.assert_array_equal(_label(ds, 1), np.array([[0, 16, 3, 0], [0, 16, 3, 255]]))
    seen = _build(root, step=0, mode='test', test_images='seen', ann_file='ImageSets/Segmentation/val.txt')
    assert _names(seen) == ['b', 'c']  # a holds only 16 and 18 (unseen at step 0), d only 17, e nothing


def test_class_list_cache_official_format(voc):
    root, _ = voc
    _build(root, step=1)
    # 0-based foreground ids, background and 255 not listed
    assert (root / 'train_aug_cls.txt').read_text().splitlines() == ['a 15 17', 'b 2 15', 'c 2', 'd 16', 'e']
    # the cache is what is read next time: edit it and the filter follows
    (root / 'train_aug_cls.txt').write_text('a 15\nb 2\nc 2\nd 16\ne\n')
    assert _names(_build(root, step=1, setting='disjoint')) == ['a']


def test_bad_mask_is_a_clear_error_and_nothing_is_written(tmp_path):
    _write(tmp_path, {'ok': _mask(1), 'bad': _mask(2, 30)})
    with pytest.raises(DataFormatError, match=r'bad\.png: label ids \[30\] are outside'):
        _build(tmp_path, step=0)
    assert not (tmp_path / 'train_aug_cls.txt').exists()


def test_bad_arguments(voc):
    root, _ = voc
    with pytest.raises(ConfigError, match='unknown voc CISS task'):
        CISSVOCDataset(task='15-7', data_root=str(root), ann_file='ImageSets/Segmentation/val.txt')
    with pytest.raises(ConfigError, match="'overlap' or 'disjoint'"):
        _build(root, setting='overlapped')
    with pytest.raises(ConfigError, match='steps 0..5'):
        _build(root, step=6)


def test_ade_keeps_zero_as_background(tmp_path):
    for split in ('training',):
        (tmp_path / 'images' / split).mkdir(parents=True)
        (tmp_path / 'annotations' / split).mkdir(parents=True)
        for name, m in {'x': _mask(5, 120), 'y': _mask(101)}.items():
            Image.fromarray(np.zeros((2, 4, 3), np.uint8)).save(tmp_path / 'images' / split / f'{name}.jpg')
            Image.fromarray(m, mode='L').save(tmp_path / 'annotations' / split / f'{name}.png')
    ds = CISSADE20KDataset(task='100-10', step=1, data_root=str(tmp_path), data_prefix=dict(
        img_path='images/training', seg_map_path='annotations/training'))
    assert _names(ds) == ['y']  # step 1 = 101..110; x holds 5 and 120 only
    np.testing.assert_array_equal(_label(ds, 0), np.array([[0, 101, 0, 0], [0, 101, 0, 255]]))
    assert (tmp_path / 'training_cls.txt').read_text().splitlines() == ['x 4 119', 'y 100']
    assert len(ds.metainfo['classes']) == 111 and ds.metainfo['classes'][0] == 'background'


def test_center_crop_frame_by_hand():
    from visionx.datasets.ciss import CenterCropFrame
    # 4 x 8 mask, shorter side 4 -> 2: nearest resize halves it to 2 x 4, the centred 2 x 2 window is columns 1..2
    label = np.repeat(np.arange(8, dtype=np.uint8)[None], 4, axis=0)
    img = np.zeros((4, 8, 3), np.uint8)
    out = CenterCropFrame(size=2)(dict(img=img, gt_seg_map=label, ori_shape=(4, 8), img_shape=(4, 8)))
    assert out['img'].shape == (2, 2, 3) and out['ori_shape'] == (2, 2) and out['img_shape'] == (2, 2)
    # mmcv's nearest resize samples columns 0, 2, 4, 6 of the original -> [0, 2, 4, 6]; centre -> [2, 4]
    np.testing.assert_array_equal(out['gt_seg_map'], np.array([[2, 4], [2, 4]]))


def test_val_mode_is_the_training_filter_on_the_val_list(voc):
    root, _ = voc
    ds = _build(root, step=1, setting='disjoint', mode='val', ann_file='ImageSets/Segmentation/val.txt')
    assert _names(ds) == ['b']  # as the disjoint training filter
    np.testing.assert_array_equal(_label(ds, 0), np.array([[0, 16, 0, 0], [0, 16, 0, 255]]))
