"""BARM: each loss by hand on tiny tensors, the residual background (clamped at test), ear init, frozen BN,
per-group learning rates."""
from __future__ import annotations

import math

import pytest
import torch
from mmengine.registry import init_default_scope

from visionx.models.losses.ciss import bfd_loss, bga_loss, gkd_loss, multilabel_bce, pseudo_labels, tri_loss
from visionx.registry import MODELS


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def sp(x: float) -> float:
    """BCE(z, 0) = softplus(z)."""
    return math.log1p(math.exp(x))


def sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def bce(z: float, t: float) -> float:
    return -(t * math.log(sig(z)) + (1 - t) * math.log(1 - sig(z)))


def test_multilabel_bce_by_hand():
    logits = torch.tensor([[0.5, -1.0], [2.0, 0.3]]).T.reshape(1, 2, 1, 2)  # pixel 0: (0.5, -1), pixel 1: (2, .3)
    labels = torch.tensor([[[1, 255]]])
    # pixel 0, target one-hot (0, 1): BCE(0.5, 0) + BCE(-1, 1); pixel 1 ignored
    expected = sp(0.5) + sp(1.0)
    assert multilabel_bce(logits, labels).item() == pytest.approx(expected, rel=1e-6)


def test_pseudo_labels_by_hand():
    # 4 pixels, old model with 3 channels
    z = torch.tensor([
        [-3.0, 2.0, 0.0],   # class 1, sigma(2) = 0.88 >= 0.7, label 0      -> 1
        [-3.0, 0.4, 0.0],   # class 1, sigma(.4) = 0.60 < 0.7               -> 0
        [-3.0, 3.0, 0.0],   # confident, but the label is a new class (4)  -> 4
        [3.0, 1.0, 0.0],    # argmax is background                          -> 0
    ]).T.reshape(1, 3, 1, 4)
    labels = torch.tensor([[[0, 0, 4, 0]]])
    assert pseudo_labels(z, labels, 0.7).tolist() == [[[1, 0, 4, 0]]]


def test_bga_and_tri_by_hand():
    r = torch.tensor([1.0, -2.0, 0.0, 2.0]).reshape(1, 1, 2, 2)
    pos = torch.tensor([1.0, 1.0, 0.0, 0.0]).reshape(1, 1, 2, 2)
    neg = torch.tensor([0.0, 1.0, 1.0, 1.0]).reshape(1, 1, 2, 2)
    assert bga_loss(r, pos).item() == pytest.approx((sp(1.0) + sp(-2.0)) / (2 + 1e-8), rel=1e-6)
    # max(0, 1 - 2 sigma(r)) on N: r = -2 -> 1 - 2 sigma(-2); r = 0 -> 0; r = 2 -> 0
    assert tri_loss(r, neg).item() == pytest.approx((1 - 2 * sig(-2.0)) / 3, rel=1e-6)


def test_bfd_and_gkd_by_hand():
    f0 = torch.tensor([1.0, 2.0]).reshape(1, 1, 1, 2)
    p0 = torch.tensor([0.0, 5.0]).reshape(1, 1, 1, 2)
    f1 = torch.tensor([3.0, 3.0]).reshape(1, 1, 1, 2)
    p1 = torch.tensor([1.0, 0.0]).reshape(1, 1, 1, 2)
    neg = torch.tensor([1.0, 0.0]).reshape(1, 1, 1, 2)
    # masked: F0 (1, 0) vs (0, 0) -> mse 1/2 ; F1 (3, 0) vs (1, 0) -> 4/2
    assert bfd_loss([f0, f1], [p0, p1], neg).item() == pytest.approx(0.5 + 2.0)
    h = torch.tensor([[0.5, -1.0], [2.0, 0.0]]).reshape(1, 2, 1, 2)   # channel 0: (0.5, -1), channel 1: (2, 0)
    p = torch.tensor([[1.0, 0.0], [-1.0, 3.0]]).reshape(1, 2, 1, 2)
    per_c = [(bce(0.5, sig(1.0)) + bce(-1.0, sig(0.0))) / 2, (bce(2.0, sig(-1.0)) + bce(0.0, sig(3.0))) / 2]
    assert gkd_loss([h], [p]).item() == pytest.approx(sum(per_c), rel=1e-6)


def barm(classes_per_step, **kw):
    init_default_scope('visionx')
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='BARMSegmentor', classes_per_step=classes_per_step,
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0., 0., 0.], std=[1., 1., 1.], size=(32, 32)),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8, out_indices=(3,),
                      strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2)),
        decode_head=dict(type='BARMHead', in_channels=64, in_index=0, channels=8, dilations=(2, 3, 4),
                         norm_cfg=dict(type='BN', requires_grad=True)),
        test_cfg=dict(mode='whole'), **kw))


def test_residual_background_train_vs_test():
    model = barm([3, 1, 2])
    head = model.decode_head
    x = [torch.randn(2, 64, 4, 4)]
    with torch.no_grad():
        head.heads[1].bias[0] = 50.0   # r_1 > 0 everywhere: min(r_1, 0) = 0 at test
        head.heads[2].bias[0] = -50.0  # r_2 < 0 everywhere
        head.eval()
        logits, extra = head.forward_all(x)
        h0, h1, h2 = extra['heads']
        assert (h1[:, 0] > 0).all() and (h2[:, 0] < 0).all()
        torch.testing.assert_close(logits[:, 0], h0[:, 0] + h2[:, 0])  # clamp: the positive r_1 adds nothing
        torch.testing.assert_close(logits[:, 1:], torch.cat([h0[:, 1:], h1[:, 1:], h2[:, 1:]], 1))
        head.heads[2].bias[0] = 50.0
        logits = head.forward_all(x)[0]
        torch.testing.assert_close(logits[:, 0], h0[:, 0])  # r_2 > 0 is clamped to 0 at test
        head.train()
        logits, extra = head.forward_all(x)
        h0, h1, h2 = extra['heads']
        # training: old residuals clamped, the current one unclamped
        torch.testing.assert_close(logits[:, 0], h0[:, 0] + torch.clamp(h1[:, 0], max=0) + h2[:, 0])
    assert logits.shape[1] == 3 + 1 + 2 and model.num_classes == 6


def test_growth_ear_from_head_pre_and_frozen_norm(tmp_path):
    step0 = barm([3])
    step0.init_weights()
    with torch.no_grad():
        step0.decode_head.head_pre.bn.running_mean.fill_(0.3)
    path = tmp_path / 's0.pth'
    torch.save(dict(state_dict=step0.state_dict()), path)
    model = barm([3, 2], prev_checkpoint=str(path))
    head = model.decode_head
    assert torch.equal(head.ears['1'].conv.weight, head.head_pre.conv.weight)
    assert torch.equal(head.ears['1'].bn.weight, head.head_pre.bn.weight)
    assert torch.equal(head.ears['1'].bn.running_mean, torch.zeros(8))  # official: running stats not copied
    model.train()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    x = torch.randn(1, 3, 32, 32)
    model.eval()
    step0.eval()
    with torch.no_grad():
        # the old logits keep their values at test only up to the clamped new residual
        new, old = model.logits(x), step0.logits(x)
        r = head.forward_all(model.extract_feat(x))[1]['heads'][1][:, :1]
        torch.testing.assert_close(new[:, :3], old + torch.cat([torch.clamp(r, max=0), torch.zeros_like(old[:, 1:])], 1))


def test_losses_at_step_1_and_per_group_learning_rates(tmp_path):
    from mmengine.optim import build_optim_wrapper
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    from visionx.engine.incremental import format_step

    model = barm([3, 2])
    samples = []
    for _ in range(2):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, 5, (1, 32, 32)))
        samples.append(s)
    model.train()
    losses = model.loss(torch.randn(2, 3, 32, 32), samples)
    assert set(losses) == {'loss_bce', 'loss_tri', 'loss_bfd', 'loss_gkd', 'loss_bga'}
    sum(losses.values()).backward()
    assert all(p.grad is None for p in model.prev_model.parameters())

    lr = 1e-3
    keys = format_step({'decode_head.heads.{step}.': dict(lr_mult=1.0), 'decode_head.ears.{step}.': dict(lr_mult=1.0),
                        'decode_head.aspp': dict(lr_mult=1.0), 'decode_head.image_pool': dict(lr_mult=1.0),
                        'decode_head.project': dict(lr_mult=1.0), 'decode_head': dict(lr_mult=0.1),
                        'backbone': dict(lr_mult=0.1)}, 1)
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9),
                                              paramwise_cfg=dict(custom_keys=keys)))
    lrs = {id(p): g['lr'] for g in wrapper.optimizer.param_groups for p in g['params']}
    named = dict(model.named_parameters())
    assert lrs[id(named['decode_head.heads.1.weight'])] == pytest.approx(1e-3)
    assert lrs[id(named['decode_head.ears.1.conv.weight'])] == pytest.approx(1e-3)
    assert lrs[id(named['decode_head.aspp_convs.1.conv.weight'])] == pytest.approx(1e-3)
    assert lrs[id(named['decode_head.heads.0.weight'])] == pytest.approx(1e-4)
    assert lrs[id(named['decode_head.head_pre.conv.weight'])] == pytest.approx(1e-4)
    assert lrs[id(named['backbone.layer1.0.conv1.weight'])] == pytest.approx(1e-4)
    assert not any(id(p) in lrs for p in model.prev_model.parameters())  # frozen: not in the optimizer


def test_step1_loss_values_pseudo_labels_and_stop_gradient():
    """Step-1 terms with their paper weights (tri 5, bfd 4, gkd 1, bga 1) on the masks built here by hand;
    background pixels the previous model scores >= 0.7 for an old class become that class in the BCE target;
    the BCE reaches neither the old head (old foreground logits and the old background logit are detached)."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    import torch.nn.functional as F

    from visionx.models.losses.ciss.barm import bfd_loss, bga_loss, gkd_loss, multilabel_bce, tri_loss

    model = barm([3, 2])
    model.train()  # freeze_norm: BN and dropout in eval mode from step 1, so two passes agree
    with torch.no_grad():  # the previous model calls every pixel old class 2 (sigmoid(20) > 0.7)
        model.prev_model.decode_head.heads[0].bias.copy_(torch.tensor([-20., -20., 20.]))
    labels = torch.zeros(2, 32, 32, dtype=torch.long)
    labels[:, :, 16:] = 3  # new class 3 on the right half
    labels[0, :8] = 255  # one ignored band
    samples = [SegDataSample(gt_sem_seg=PixelData(data=lab[None])) for lab in labels]
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    losses = model.loss(x, samples)

    # the BCE target by hand: background -> 2, new class and ignore kept
    target = labels.clone()
    target[labels == 0] = 2
    # feature-resolution masks by hand (stride 16: 2 x 2, nearest = pixels 0 and 16): column 0 background,
    # column 1 new class, row 0 of sample 0 ignored
    negative = torch.tensor([[[[0., 0.], [1., 0.]]], [[[1., 0.], [1., 0.]]]])
    positive = torch.tensor([[[[0., 0.], [0., 1.]]], [[[0., 1.], [0., 1.]]]])
    with torch.no_grad():
        logits, extra = model.decode_head.forward_all(model.extract_feat(x))
        _, prev = model.prev_model.decode_head.forward_all(model.prev_model.extract_feat(x))
        up = F.interpolate(logits, size=(32, 32), mode='bilinear', align_corners=False)
        residual = extra['heads'][-1][:, :1]
        torch.testing.assert_close(losses['loss_bce'], multilabel_bce(up, target))
        torch.testing.assert_close(losses['loss_tri'], 5 * tri_loss(residual, negative))
        torch.testing.assert_close(losses['loss_bga'], 1 * bga_loss(residual, positive))
        torch.testing.assert_close(losses['loss_bfd'], 4 * bfd_loss(extra['feats'], prev['feats'], negative))
        torch.testing.assert_close(losses['loss_gkd'], 1 * gkd_loss(extra['heads'], prev['heads']))
        assert multilabel_bce(up, labels) != losses['loss_bce']  # the pseudo labels changed the target

    model.zero_grad(set_to_none=True)
    model.loss(x, samples)['loss_bce'].backward()
    old, new = model.decode_head.heads[0], model.decode_head.heads[1]
    assert old.weight.grad is None or not old.weight.grad.any()
    assert new.weight.grad is not None and new.weight.grad.any()


def test_step1_short_training_lowers_the_loss():
    """Fifteen SGD steps of step 1 on one batch lower the summed BARM loss (the distillation terms start at
    their floor, the model being the previous one, so the BCE, tri and bga terms carry the decrease)."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    model = barm([3, 2])
    model.train()
    labels = torch.zeros(2, 32, 32, dtype=torch.long)
    labels[:, 8:24, 16:] = 3
    labels[1, 20:, :10] = 4
    samples = [SegDataSample(gt_sem_seg=PixelData(data=lab[None])) for lab in labels]
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    optim = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05, momentum=0.9)
    totals = []
    for _ in range(15):
        loss = sum(model.loss(x, samples).values())
        optim.zero_grad()
        loss.backward()
        optim.step()
        totals.append(loss.item())
    assert totals[-1] < 0.85 * totals[0], totals
