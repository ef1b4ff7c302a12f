"""Incremental segmentor: classifier growth, MiB init, the frozen previous model, MiB losses by hand."""
from __future__ import annotations

import math

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.structures import SegDataSample
from mmengine.structures import PixelData

from visionx.models.losses.ciss import UnbiasedCrossEntropyLoss, UnbiasedKDLoss
from visionx.registry import MODELS
from visionx.utils.errors import CheckpointMismatchError, UserFileNotFoundError


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Tiny networks: one intra-op thread is ~100x faster than two on a loaded 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tiny_cfg(classes_per_step, **kw):
    return dict(
        type='IncrementalEncoderDecoder', classes_per_step=classes_per_step,
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0., 0., 0.], std=[1., 1., 1.], size=(32, 32)),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8, out_indices=(3,),
                      strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2)),
        decode_head=dict(type='IncrementalASPPHead', in_channels=64, in_index=0, channels=8, dilations=(1, 2, 3, 4),
                         dropout_ratio=0.1, norm_cfg=dict(type='BN', requires_grad=True)),
        test_cfg=dict(mode='whole'), **kw)


def build(classes_per_step, **kw):
    init_default_scope('visionx')
    torch.manual_seed(0)
    return MODELS.build(tiny_cfg(classes_per_step, **kw))


@pytest.fixture
def step0(tmp_path):
    model = build([3])
    model.init_weights()
    # non-trivial BN statistics and classifier bias, so the checks below are not trivially true
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2)
    with torch.no_grad():
        model.decode_head.conv_seg.classifiers[0].bias.copy_(torch.tensor([0.3, -0.2, 0.1]))
    path = tmp_path / 'step0.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return model.eval(), str(path)


def test_growth_keeps_old_logits(step0):
    old, path = step0
    new = build([3, 2], prev_checkpoint=path).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = old.logits(x)
        out = new.logits(x)
        prev = new.prev_model.logits(x)
    assert out.shape[1] == 5 and new.num_classes == 5 and new.num_old_classes == 3
    torch.testing.assert_close(out[:, :3], ref)
    torch.testing.assert_close(prev, ref)
    # the runner's init_weights() must not overwrite the loaded weights
    new.init_weights()
    with torch.no_grad():
        torch.testing.assert_close(new.logits(x)[:, :3], ref)


def test_mib_init_splits_background(step0):
    old, path = step0
    new = build([3, 2], prev_checkpoint=path, new_classifier_init='mib').eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        p_old = old.logits(x).softmax(1)
        p_new = new.logits(x).softmax(1)
    # old foreground probabilities unchanged; background split evenly into background + the 2 new classes
    torch.testing.assert_close(p_new[:, 1:3], p_old[:, 1:3])
    for c in (0, 3, 4):
        torch.testing.assert_close(p_new[:, c], p_old[:, 0] / 3)


def _batch(n=2):
    labels = torch.randint(0, 5, (n, 32, 32))
    samples = []
    for lb in labels:
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=lb[None])
        s.set_metainfo(dict(img_shape=(32, 32), ori_shape=(32, 32), pad_shape=(32, 32)))
        samples.append(s)
    return torch.randn(n, 3, 32, 32), samples


def test_previous_model_is_frozen(step0):
    _, path = step0
    model = build([3, 2], prev_checkpoint=path, loss_ce=dict(type='UnbiasedCrossEntropyLoss'),
                  loss_kd=dict(type='UnbiasedKDLoss', loss_weight=10.0))
    model.train()
    assert not model.prev_model.training and all(not m.training for m in model.prev_model.modules())
    before = {k: v.clone() for k, v in model.prev_model.state_dict().items()}
    cur_before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith('prev_model.')}
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert not any(p.requires_grad for p in model.prev_model.parameters())
    assert {id(p) for p in trainable}.isdisjoint({id(p) for p in model.prev_model.parameters()})
    opt = torch.optim.SGD(trainable, lr=0.1)
    for _ in range(2):
        inputs, samples = _batch()
        losses = model.loss(inputs, samples)
        assert set(losses) == {'loss_ce', 'loss_kd'}
        opt.zero_grad()
        sum(losses.values()).backward()
        opt.step()
    for k, v in model.prev_model.state_dict().items():
        assert torch.equal(v, before[k]), f'previous model changed: {k}'
    changed = [k for k, v in model.state_dict().items() if not k.startswith('prev_model.')
               and not torch.equal(v, cur_before[k])]
    assert any('running_mean' in k for k in changed) and any('conv_seg' in k for k in changed)


def test_checkpoint_errors(step0, tmp_path):
    _, path = step0
    with pytest.raises(UserFileNotFoundError, match='nope.pth'):
        build([3, 2], prev_checkpoint=str(tmp_path / 'nope.pth'))
    with pytest.raises(CheckpointMismatchError, match='step0.pth does not match'):
        build([4, 1], prev_checkpoint=path)  # step 0 had 3 classes, not 4


def test_unbiased_ce_by_hand():
    z = torch.tensor([1.0, 2.0, 0.5]).view(1, 3, 1, 1).repeat(1, 1, 1, 3)  # 3 pixels, same logits
    labels = torch.tensor([[[2, 1, 255]]])  # new class, old class (-> background), ignored
    s = math.exp(1) + math.exp(2) + math.exp(0.5)
    l_new = -(0.5 - math.log(s))
    l_old = -(math.log(math.exp(1) + math.exp(2)) - math.log(s))
    loss = UnbiasedCrossEntropyLoss()(z, labels, num_old_classes=2)
    assert loss.item() == pytest.approx((l_new + l_old) / 2, rel=1e-6)


def test_unbiased_kd_by_hand():
    z = torch.tensor([1.0, 2.0, 0.5]).view(1, 3, 1, 1)
    z_old = torch.tensor([0.3, -0.2]).view(1, 2, 1, 1)
    q0 = math.exp(0.3) / (math.exp(0.3) + math.exp(-0.2))
    s = math.exp(1) + math.exp(2) + math.exp(0.5)
    expected = -(q0 * math.log((math.exp(1) + math.exp(0.5)) / s) + (1 - q0) * math.log(math.exp(2) / s)) / 2
    assert UnbiasedKDLoss(loss_weight=10.0)(z, z_old).item() == pytest.approx(10 * expected, rel=1e-6)


def test_unbiased_ce_at_step_0_is_plain_ce():
    z = torch.tensor([1.0, 2.0, 0.5]).view(1, 3, 1, 1)
    s = math.exp(1) + math.exp(2) + math.exp(0.5)
    loss = UnbiasedCrossEntropyLoss()(z, torch.tensor([[[1]]]), num_old_classes=0)
    assert loss.item() == pytest.approx(-(2.0 - math.log(s)), rel=1e-6)


def test_step1_mib_loss_values_from_their_terms(step0):
    """MiB step 1: the CE is the unbiased CE of the upsampled current logits with C_old = 3 (mean over labelled
    pixels) and the KD is 10 x the unbiased KD against the previous model's logits on the same images."""
    import torch.nn.functional as F

    from visionx.models.losses.ciss.mib import unbiased_cross_entropy, unbiased_kd
    _, path = step0
    model = build([3, 2], prev_checkpoint=path, loss_ce=dict(type='UnbiasedCrossEntropyLoss'),
                  loss_kd=dict(type='UnbiasedKDLoss', loss_weight=10.0))
    model.eval()  # no dropout: two passes agree
    with torch.no_grad():  # as if step 1 had trained: the current and previous logits differ
        gen = torch.Generator().manual_seed(2)
        for p in model.decode_head.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen))
    inputs, samples = _batch()
    samples[0].gt_sem_seg.data[0, :4] = 255  # some ignored pixels
    labels = torch.stack([s.gt_sem_seg.data[0] for s in samples])
    with torch.no_grad():
        losses = model.loss(inputs, samples)
        up = F.interpolate(model.logits(inputs), size=(32, 32), mode='bilinear', align_corners=False)
        prev = F.interpolate(model.prev_model.logits(inputs), size=(32, 32), mode='bilinear', align_corners=False)
    ce = unbiased_cross_entropy(up, labels, 3).sum() / (labels != 255).sum()
    torch.testing.assert_close(losses['loss_ce'], ce)
    torch.testing.assert_close(losses['loss_kd'], 10 * unbiased_kd(up, prev).mean())
    assert losses['loss_kd'] > 0
