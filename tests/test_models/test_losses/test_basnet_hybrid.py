"""BASNet hybrid loss: golden values from the formulas, NaN safety, reductions, mmseg decode-head use."""
import math

import pytest
import torch

from visionx.models.losses.basnet.hybrid import (SSIM_C1, SSIM_C2, BASNetHybridLoss, basnet_hybrid_loss,
                                                 gaussian_window, ssim_map)
from visionx.registry import MODELS


def test_gaussian_window_golden():
    win = gaussian_window(11, 1.5)
    assert win.shape == (11, 11)
    assert win.sum().item() == pytest.approx(1.0, abs=1e-6)
    g = torch.exp(-torch.arange(-5., 6.)**2 / (2 * 1.5**2))
    g = g / g.sum()
    assert win[5, 5].item() == pytest.approx((g[5] * g[5]).item(), rel=1e-5)


def test_ssim_centre_pixel_of_constant_maps():
    x = torch.full((1, 1, 31, 31), 0.5)
    y = torch.ones(1, 1, 31, 31)
    s = ssim_map(x, y)
    # interior pixel: mu_x = .5, mu_y = 1, all variances 0
    expected = (2 * 0.5 * 1 + SSIM_C1) * SSIM_C2 / ((0.25 + 1 + SSIM_C1) * SSIM_C2)
    assert s[0, 0, 15, 15].item() == pytest.approx(expected, rel=1e-4)
    assert ssim_map(y, y)[0, 0, 15, 15].item() == pytest.approx(1.0, abs=1e-5)


def test_hybrid_golden_half_prediction():
    logits = torch.zeros(1, 1, 31, 31)  # sigmoid = 0.5
    target = torch.ones(1, 31, 31)
    loss = basnet_hybrid_loss(logits, target)
    bce = math.log(2)
    iou = 1 - 0.5 * 961 / (0.5 * 961 + 961 - 0.5 * 961)
    # SSIM in closed form: x = 0.5, y = 1 under an 11x11 Gaussian window (sigma 1.5, normalised over its
    # 11 taps) with zero padding.  At a pixel whose window keeps the weight S = s(i) s(j) inside the image:
    # mu_x = S/2, mu_y = S, sigma_x = S(1-S)/4, sigma_y = S(1-S), sigma_xy = S(1-S)/2, so
    # SSIM = (S^2 + C1)(S(1-S) + C2) / ((1.25 S^2 + C1)(1.25 S(1-S) + C2)), C1 = 0.01^2, C2 = 0.03^2.
    taps = [math.exp(-k * k / (2 * 1.5 ** 2)) for k in range(-5, 6)]
    taps = [t / sum(taps) for t in taps]
    inside = [sum(t for k, t in zip(range(-5, 6), taps) if 0 <= i + k < 31) for i in range(31)]
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    ssim_sum = 0.0
    for si in inside:
        for sj in inside:
            w = si * sj
            ssim_sum += (w * w + c1) * (w * (1 - w) + c2) / ((1.25 * w * w + c1) * (1.25 * w * (1 - w) + c2))
    ssim = 1 - ssim_sum / 961
    assert ssim == pytest.approx(0.27898, abs=1e-5)  # the border pixels (520 of 961) carry most of it
    assert loss.shape == (1,)
    assert loss.item() == pytest.approx(bce + ssim + iou, rel=1e-4)


def test_perfect_prediction_near_zero_and_sum_over_outputs():
    target = torch.zeros(2, 1, 16, 16)
    target[:, :, 4:12, 4:12] = 1
    logits = (target * 2 - 1) * 30
    single = basnet_hybrid_loss(logits, target)
    assert torch.all(single < 1e-4)
    bad = torch.zeros_like(logits)
    eight = basnet_hybrid_loss([bad] * 8, target)
    assert torch.allclose(eight, 8 * basnet_hybrid_loss(bad, target), rtol=1e-5)


def test_empty_mask_no_nan_and_gradients_finite():
    target = torch.zeros(2, 1, 16, 16)
    logits = torch.full((2, 1, 16, 16), -50.0, requires_grad=True)
    loss = BASNetHybridLoss()(logits, target)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


def test_module_reductions_weight_and_errors():
    target = torch.rand(3, 16, 16)
    logits = [torch.randn(3, 1, 16, 16), torch.randn(3, 1, 8, 8)]  # smaller map is resized
    per = BASNetHybridLoss(reduction='none')(logits, target)
    assert per.shape == (3,)
    assert BASNetHybridLoss(loss_weight=2.0)(logits, target).item() == pytest.approx(2 * per.mean().item(),
                                                                                     rel=1e-5)
    assert BASNetHybridLoss(reduction='sum')(logits, target).item() == pytest.approx(per.sum().item(), rel=1e-5)
    assert BASNetHybridLoss()(logits, target, avg_factor=6).item() == pytest.approx(per.sum().item() / 6,
                                                                                   rel=1e-5)
    w = torch.tensor([1., 0., 0.])
    assert BASNetHybridLoss()(logits, target, weight=w).item() == pytest.approx(per[0].item() / 3, rel=1e-5)
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        BASNetHybridLoss()(logits, target * 255)
    with pytest.raises(ValueError):
        BASNetHybridLoss(loss_name='hybrid')
    with pytest.raises(ValueError):
        BASNetHybridLoss()(torch.randn(3, 2, 16, 16), target)
    assert BASNetHybridLoss().loss_name == 'loss_basnet'


def test_as_mmseg_decode_head_loss():
    """Drop-in ``loss_decode`` of a one-channel mmseg decode head (FCNHead)."""
    from mmengine.registry import DefaultScope
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    with DefaultScope.overwrite_default_scope('visionx'):  # configs set default_scope='visionx'
        head = MODELS.build(dict(type='FCNHead', in_channels=8, channels=8, num_convs=1, num_classes=2,
                                 out_channels=1, threshold=0.5, in_index=0,
                                 loss_decode=dict(type='BASNetHybridLoss')))
    feats = [torch.randn(2, 8, 8, 8)]
    samples = []
    for _ in range(2):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=(torch.rand(1, 32, 32) > 0.5).float())
        s.set_metainfo(dict(img_shape=(32, 32)))
        samples.append(s)
    losses = head.loss(feats, samples, train_cfg=None)
    assert 'loss_basnet' in losses and torch.isfinite(losses['loss_basnet'])
    losses['loss_basnet'].backward()
