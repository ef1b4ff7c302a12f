"""TopoMortarAugment(crop_size=...): crop first, augment the window, keep its centre; official order untouched."""
import numpy as np
import pytest

from visionx.datasets.topomortar.transforms import TopoMortarAugment


def _sample(size=100, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.normal(size=(size, size, 3)).astype(np.float32)
    seg = (rng.random((size, size)) > 0.7).astype(np.uint8)
    return img, seg


def test_without_augmentation_the_output_is_the_centre_of_a_uniform_window():
    img, seg = _sample()
    np.random.seed(3)
    out = TopoMortarAugment(prob_scale=0, crop_size=(20, 30))(dict(img=img.copy(), gt_seg_map=seg.copy()))
    # by hand: window sides ceil(20 * sqrt(2) / 0.7) = 41 and ceil(30 * sqrt(2) / 0.7) = 61, drawn after
    # the MONAI seed from the same NumPy stream; centre offsets (41 - 20) // 2 = 10, (61 - 30) // 2 = 15
    np.random.seed(3)
    np.random.randint(0, 2**31 - 1)
    y0, x0 = np.random.randint(0, 100 - 41 + 1), np.random.randint(0, 100 - 61 + 1)
    np.testing.assert_array_equal(out['img'], img[y0 + 10:y0 + 30, x0 + 15:x0 + 45])
    np.testing.assert_array_equal(out['gt_seg_map'], seg[y0 + 10:y0 + 30, x0 + 15:x0 + 45])
    assert out['img_shape'] == (20, 30)


def test_augmented_crop_has_the_crop_size_and_official_order_keeps_the_whole_image():
    img, seg = _sample()
    np.random.seed(0)
    out = TopoMortarAugment(prob_scale=4, crop_size=(24, 24))(dict(img=img.copy(), gt_seg_map=seg.copy()))
    assert out['img'].shape == (24, 24, 3) and out['gt_seg_map'].shape == (24, 24)
    assert set(np.unique(out['gt_seg_map'])) <= {0, 1}  # nearest interpolation keeps labels
    # official order: no window drawn, the whole image augmented
    np.random.seed(0)
    a = TopoMortarAugment(prob_scale=1)(dict(img=img.copy(), gt_seg_map=seg.copy()))
    assert a['img'].shape == (100, 100, 3)
    with pytest.raises(ValueError, match='crop_size'):
        TopoMortarAugment(crop_size=(0, 5))
