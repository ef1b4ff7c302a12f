"""BACS losses: each term by hand on tiny tensors (METHODS.md B§5.1-5.2), gradients, argument checks."""
from __future__ import annotations

import math

import pytest
import torch
from mmengine.registry import init_default_scope

from visionx.models.losses.ciss import (BgAwareCrossEntropyLoss, BinaryFocalLoss, DERLabelLoss, DERLogitLoss,
                                        MaskedFeatureKDLoss, bg_aware_cross_entropy, binary_focal_loss,
                                        der_logit_loss, detector_loss_decay, masked_feature_kd)
from visionx.registry import MODELS
from visionx.utils.errors import ConfigError


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def softmax(z: list[float]) -> list[float]:
    e = [math.exp(v) for v in z]
    return [v / sum(e) for v in e]


def pixels(*columns: list[float]) -> torch.Tensor:
    """Logits (1, C, 1, P) from P per-pixel logit vectors of length C."""
    return torch.tensor(columns, dtype=torch.float64).T.reshape(1, len(columns[0]), 1, len(columns))


# 1. detector --------------------------------------------------------------------------------------------------
def test_detector_loss_decay():
    assert detector_loss_decay(0, 30) == pytest.approx(1 - math.exp(-30))
    assert detector_loss_decay(29, 30) == pytest.approx(1 - math.exp(-1))
    assert detector_loss_decay(30, 30) == 0.0
    assert detector_loss_decay(35, 30) == 0.0
    with pytest.raises(ConfigError, match='max_epochs'):
        detector_loss_decay(0, 0)
    with pytest.raises(ValueError, match='epoch'):
        detector_loss_decay(-1, 30)


def test_binary_focal_loss_by_hand():
    seen_logits = torch.tensor([[[[0.0, 1.0, 5.0]]]], dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([[[0, 3, 255]]])
    # background, z = 0: BCE = log 2, p_t = 1/2; foreground, z = 1: BCE = -log sig(1), p_t = sig(1); third ignored
    f_bg = 0.25 * math.log(2)
    f_fg = (1 - sig(1)) ** 2 * -math.log(sig(1))
    loss = BinaryFocalLoss()(seen_logits, labels)
    assert loss.item() == pytest.approx((f_bg + f_fg) / 2, rel=1e-6)  # mean over the 2 non-ignored pixels
    per_pixel = binary_focal_loss(seen_logits[:, 0], labels, gamma=0.0)  # (B, H, W) logits, gamma 0 = BCE
    assert per_pixel[0, 0].tolist() == pytest.approx([math.log(2), -math.log(sig(1)), 0.0])
    loss.backward()
    assert seen_logits.grad[0, 0, 0, 2] == 0


def test_binary_focal_loss_without_background_or_valid_pixels_is_zero():
    logits = torch.tensor([[[[2.0, -1.0]]]], requires_grad=True)
    for labels in (torch.tensor([[[1, 255]]]), torch.tensor([[[255, 255]]])):
        loss = BinaryFocalLoss()(logits, labels)
        assert loss.item() == 0.0
        loss.backward()
        assert torch.isfinite(logits.grad).all()
    with pytest.raises(ValueError, match='labels'):
        binary_focal_loss(logits, torch.zeros(1, 1, 3, dtype=torch.long))


# 2. background-shift aware CE ---------------------------------------------------------------------------------
def bacs_ce_inputs():
    logits = pixels([1.0, 0.0, -1.0], [0.5, 0.2, 0.1], [0.0, 1.0, 2.0], [0.0, 1.0, 1.0], [3.0, 3.0, 3.0])
    labels = torch.tensor([[[0, 0, 2, 0, 255]]])
    seen = torch.tensor([[[0.6, 0.4, 0.9, 0.5, 0.7]]], dtype=torch.float64)
    return logits, labels, seen


def test_bg_aware_ce_by_hand():
    logits, labels, seen = bacs_ce_inputs()
    p = [softmax(logits[0, :, 0, i].tolist()) for i in range(5)]
    old = 2  # background + class 1 old, class 2 new
    new_vs_rest = [-math.log(p[0][0] + p[0][1]), -math.log(p[1][0] + p[1][1]), -math.log(p[2][2]),
                   -math.log(p[3][0] + p[3][1]), 0.0]
    bg_fg = [-math.log(p[0][0]), -math.log(p[1][0]), -math.log(p[2][1] + p[2][2]), -math.log(p[3][0]), 0.0]
    # s = 0.6 > 0.5 -> w = 1 (term dropped); s = 0.4 -> (1 - 0.4)^2 = 0.36; foreground -> w = 0; s = 0.5 -> 0.25
    factor = [0.0, 0.36, 1.0, 0.25, 1.0]
    expected = [f * b + n for f, b, n in zip(factor, bg_fg, new_vs_rest)]
    per_pixel = bg_aware_cross_entropy(logits, labels, old, seen)
    assert per_pixel[0, 0].tolist() == pytest.approx(expected, rel=1e-9)
    loss = BgAwareCrossEntropyLoss()(logits, labels, num_old_classes=old, seen=seen)
    assert loss.item() == pytest.approx(sum(expected) / 5, rel=1e-9)  # ignored pixel counted in the mean
    # per-task seen maps: max over T; no seen map: w = 0
    per_task = torch.stack([seen, torch.zeros_like(seen)], dim=1)
    assert torch.allclose(bg_aware_cross_entropy(logits, labels, old, per_task), per_pixel)
    unweighted = bg_aware_cross_entropy(logits, labels, old)
    assert unweighted[0, 0].tolist() == pytest.approx([b + n for b, n in zip(bg_fg, new_vs_rest)], rel=1e-9)


def test_bg_aware_ce_step0_is_plain_ce_over_valid_pixels():
    logits, labels, seen = bacs_ce_inputs()
    ce = [-math.log(softmax(logits[0, :, 0, i].tolist())[y]) for i, y in enumerate([0, 0, 2, 0])]
    loss = BgAwareCrossEntropyLoss()(logits, labels, num_old_classes=0, seen=seen)
    assert loss.item() == pytest.approx(sum(ce) / 4, rel=1e-6)


def test_bg_aware_ce_gradient_and_arguments():
    logits, labels, seen = bacs_ce_inputs()
    logits.requires_grad_(True)
    seen.requires_grad_(True)
    BgAwareCrossEntropyLoss()(logits, labels, 2, seen).backward()
    assert seen.grad is None and torch.isfinite(logits.grad).all()
    assert logits.grad[0, :, 0, 4].abs().sum() == 0  # ignored pixel
    assert BgAwareCrossEntropyLoss.needs_old_classes
    with pytest.raises(ConfigError, match='threshold'):
        BgAwareCrossEntropyLoss(threshold=1.5)
    with pytest.raises(ConfigError, match='gamma'):
        BgAwareCrossEntropyLoss(gamma=-1)
    with pytest.raises(ValueError, match='num_old_classes'):
        bg_aware_cross_entropy(logits, labels, 4)
    with pytest.raises(ValueError, match='seen'):
        bg_aware_cross_entropy(logits, labels, 2, seen[..., :2])


# 3. masked feature distillation -------------------------------------------------------------------------------
def test_masked_kd_upsampling_and_mask_by_hand():
    # width 2 -> 4, bilinear, align_corners=False: (v0, 0.75 v0 + 0.25 v1, 0.25 v0 + 0.75 v1, v1)
    feat_new = torch.tensor([[[[0.0, 4.0]]]], requires_grad=True)  # -> (0, 1, 3, 4)
    feat_old = torch.tensor([[[[2.0, 2.0]]]], requires_grad=True)  # -> (2, 2, 2, 2)
    labels = torch.tensor([[[0, 0, 0, 1]]])
    seen = torch.tensor([[[0.9, 0.9, 0.2, 0.9]]])  # M = (1, 1, 0, 0)
    # squared: (4, 4, 0, 0) - (0, 1, 0, 0) = (4, 3, 0, 0) -> norm 5; one (b, c, h) row
    loss = MaskedFeatureKDLoss()(feat_new, feat_old, labels, seen)
    assert loss.item() == pytest.approx(0.25 * 5)
    plain = MaskedFeatureKDLoss(squared=False)(feat_new, feat_old, labels, seen)
    assert plain.item() == pytest.approx(0.25 * math.sqrt(2 ** 2 + 1 ** 2))
    loss.backward()
    assert feat_old.grad is None and torch.isfinite(feat_new.grad).all()
    # without seen: M = [y = 0] = (1, 1, 1, 0): (4, 4, 4, 0) - (0, 1, 9, 0) -> sqrt(16 + 9 + 25)
    assert masked_feature_kd(feat_new, feat_old, labels).item() == pytest.approx(math.sqrt(50))


def test_masked_kd_norm_along_width_mean_over_rows():
    feat_new = torch.zeros(1, 2, 2, 2)
    feat_new[0, 0, 0] = torch.tensor([1.0, 2.0])
    feat_old = torch.zeros(1, 2, 2, 2)
    feat_old[0, 0, 1] = torch.tensor([3.0, 4.0])
    feat_new.requires_grad_(True)
    labels = torch.zeros(1, 2, 2, dtype=torch.long)
    rows = MaskedFeatureKDLoss(loss_weight=1.0, reduction='none')(feat_new, feat_old, labels)
    assert rows.shape == (1, 2, 2)  # (B, C, H)
    # row (c0, h0): (0 - 1, 0 - 4); row (c0, h1): (9, 16); channel 1: zero rows
    assert rows.flatten().tolist() == pytest.approx([math.sqrt(17), math.sqrt(337), 0.0, 0.0])
    mean = MaskedFeatureKDLoss(loss_weight=1.0)(feat_new, feat_old, labels)
    assert mean.item() == pytest.approx((math.sqrt(17) + math.sqrt(337)) / 4)
    mean.backward()
    assert torch.isfinite(feat_new.grad).all() and feat_new.grad[0, 1].abs().sum() == 0  # zero rows: no NaN
    with pytest.raises(ValueError, match='feat_new'):
        masked_feature_kd(feat_new, feat_old[:, :1], labels)
    with pytest.raises(ConfigError, match='squared'):
        MaskedFeatureKDLoss(squared='yes')


# 4. DER logits ------------------------------------------------------------------------------------------------
def test_der_logit_substitution_by_hand():
    cur = torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 1.0]]).reshape(2, 3, 1, 1).requires_grad_(True)
    mem = torch.tensor([[10.0, 0.0, 100.0, 7.0], [5.0, 3.0, -1.0, 9.0]]).reshape(2, 4, 1, 1).requires_grad_(True)
    n = torch.tensor([2, 3])
    # sample 0 keeps channel 1 only ((2 - 0)^2; channel 2 beyond n: 0); sample 1 channels 1, 2: 4 + 4; bg replaced
    loss = DERLogitLoss()(cur, mem, n)
    assert loss.item() == pytest.approx(0.8 * (4 + 8) / 6)  # mean over B*C*h*w = 6
    loss.backward()
    assert mem.grad is None
    assert cur.grad[0, :, 0, 0].tolist() == pytest.approx([0.0, 0.8 * 2 * 2 / 6, 0.0])
    with_bg = der_logit_loss(cur, mem, [2, 3], ignore_bg=False)
    assert with_bg.sum().item() == pytest.approx(4 + 8 + (1 - 10) ** 2 + (0 - 5) ** 2)
    # fewer stored channels than current ones: the missing ones count as added later
    short = der_logit_loss(cur[:1], mem[:1, :2], [2])
    assert short.flatten().tolist() == pytest.approx([0.0, 4.0, 0.0])


def test_der_logit_arguments():
    cur, mem = torch.zeros(2, 3, 2, 2), torch.zeros(2, 3, 2, 2)
    with pytest.raises(ValueError, match='mem_num_classes'):
        der_logit_loss(cur, mem, [2])
    with pytest.raises(ValueError, match='mem_num_classes'):
        der_logit_loss(cur, mem, [2, 4])
    with pytest.raises(ValueError, match='mem_num_classes'):
        der_logit_loss(cur, mem, torch.tensor([2.0, 3.0]))
    with pytest.raises(ValueError, match='share'):
        der_logit_loss(cur, mem[..., :1], [2, 3])
    with pytest.raises(ConfigError, match='ignore_bg'):
        DERLogitLoss(ignore_bg=1)


# 5. DER++ labels ----------------------------------------------------------------------------------------------
def test_der_label_class_weights_by_hand():
    logits = pixels([0.0, 1.0, 2.0], [1.0, 0.5, -1.0], [2.0, 0.0, 0.0], [0.0, 0.0, 3.0], [1.0, 1.0, 1.0])
    logits.requires_grad_(True)
    labels = torch.tensor([[[1, 1, 0, 2, 255]]])
    ce = [-math.log(softmax(logits[0, :, 0, i].tolist())[y]) for i, y in enumerate([1, 1, 0, 2])]
    # num_old = 2: weights (0, 1, 0) -> only the two class-1 pixels
    loss = DERLabelLoss()(logits, labels, num_old_classes=2)
    assert loss.item() == pytest.approx(0.5 * (ce[0] + ce[1]) / 2, rel=1e-6)
    loss.backward()
    assert logits.grad[0, :, 0, 2:].abs().sum() == 0
    # background weighted too: weights (1, 1, 0)
    with_bg = DERLabelLoss(ignore_bg=False, loss_weight=1.0)(logits, labels, 2)
    assert with_bg.item() == pytest.approx((ce[0] + ce[1] + ce[2]) / 3, rel=1e-6)
    # num_old = 3: weights (0, 1, 1)
    three = DERLabelLoss(loss_weight=1.0)(logits, labels, 3)
    assert three.item() == pytest.approx((ce[0] + ce[1] + ce[3]) / 3, rel=1e-6)


def test_der_label_without_old_pixels_is_zero_not_nan():
    logits = pixels([0.0, 1.0, 2.0], [1.0, 0.5, -1.0]).requires_grad_(True)
    loss = DERLabelLoss()(logits, torch.tensor([[[0, 2]]]), 2)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    with pytest.raises(ValueError, match='num_old_classes'):
        DERLabelLoss()(logits, torch.tensor([[[0, 2]]]), 0)
    with pytest.raises(ValueError, match='labels'):
        DERLabelLoss()(logits, torch.tensor([[0, 2]]), 2)


# registry -----------------------------------------------------------------------------------------------------
def test_built_from_config_with_official_defaults():
    init_default_scope('visionx')
    names = {'BinaryFocalLoss': ('loss_det', 1.0), 'BgAwareCrossEntropyLoss': ('loss_ce', 1.0),
             'MaskedFeatureKDLoss': ('loss_kd', 0.25), 'DERLogitLoss': ('loss_der', 0.8),
             'DERLabelLoss': ('loss_derpp', 0.5)}
    for type_, (name, weight) in names.items():
        loss = MODELS.build(dict(type=type_))
        assert (loss.loss_name, loss.loss_weight) == (name, weight)
    with pytest.raises(ValueError, match='loss_'):
        MODELS.build(dict(type='DERLogitLoss', loss_name='der'))
    with pytest.raises(ValueError, match='reduction'):
        MODELS.build(dict(type='DERLabelLoss', reduction='max'))
