"""Soft-label training in DeepSupervisionSegmentor and SoftLabelEncoderDecoder (self-distillation)."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from visionx.models.losses.topology import CEDiceLoss
from visionx.models.segmentors import DeepSupervisionSegmentor, deep_supervision_weights, stack_soft_targets
from visionx.registry import MODELS

TINY = dict(type='MonaiDynUNet', num_levels=4, filters=[4, 8, 8, 8], deep_supr_num=2)


@MODELS.register_module(force=True)
class _SoftTargetSpy(nn.Module):
    """Records every target; returns a differentiable value depending on it."""

    def __init__(self, loss_name: str = 'loss_spy'):
        super().__init__()
        self.loss_name = loss_name
        self.targets = []

    def forward(self, pred, target, **kwargs):
        self.targets.append(target)
        return pred.mean() * 0 + target.float().mean()


def _samples(b, size, soft=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(b):
        ds = SegDataSample()
        fg = torch.rand(1, size, size, generator=g)
        ds.gt_sem_seg = PixelData(data=(fg > 0.5).long())
        if soft:
            ds.gt_soft_seg = PixelData(data=torch.cat([1 - fg, fg]))
        ds.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
                             padding_size=[0, 0, 0, 0]))
        out.append(ds)
    return out


def test_stack_soft_targets():
    samples = _samples(2, 8)
    soft = stack_soft_targets(samples)
    assert soft.shape == (2, 2, 8, 8) and soft.dtype == torch.float32
    padded = stack_soft_targets(samples, (10, 9))
    assert padded.shape == (2, 2, 10, 9)
    assert torch.equal(padded[..., :8, :8], soft) and not padded[..., 8:, :].any() and not padded[..., 8].any()
    assert stack_soft_targets(_samples(2, 8, soft=False)) is None
    with pytest.raises(ValueError, match='all soft or all hard'):
        stack_soft_targets(_samples(1, 8) + _samples(1, 8, soft=False))


def test_deep_supervision_passes_soft_targets_to_every_output():
    init_default_scope('visionx')
    torch.manual_seed(0)
    model = DeepSupervisionSegmentor(network=TINY, loss=dict(type='_SoftTargetSpy'),
                                     data_preprocessor=dict(type='SegDataPreProcessor', size_divisor=8))
    samples = _samples(2, 16)
    model.loss(torch.randn(2, 3, 16, 16), samples)
    spy = model.losses[0]
    assert len(spy.targets) == 3                      # main output + 2 auxiliary outputs
    expected = torch.stack([s.gt_soft_seg.data for s in samples])
    for t in spy.targets:
        assert t.dtype == torch.float32 and torch.equal(t, expected)
    spy.targets.clear()
    model.loss(torch.randn(2, 3, 16, 16), _samples(2, 16, soft=False))
    assert all(t.dtype == torch.int64 and t.shape == (2, 16, 16) for t in spy.targets)


def test_deep_supervision_soft_loss_value():
    """The combined loss equals the TopoMortar weighting of CE+Dice against the soft target."""
    init_default_scope('visionx')
    torch.manual_seed(0)
    model = DeepSupervisionSegmentor(network=TINY, loss=dict(type='CEDiceLoss'))
    model.train()
    x = torch.randn(2, 3, 16, 16)
    samples = _samples(2, 16)
    soft = torch.stack([s.gt_soft_seg.data for s in samples])
    got = model.loss(x, samples)['loss_ce_dice']
    outs = model.network(x)
    ref = CEDiceLoss()
    w = deep_supervision_weights(len(outs) - 1)
    expected = sum(wi * ref(o, soft) for wi, o in zip(w, outs)) / len(outs)
    torch.testing.assert_close(got, expected)
    hard_samples = _samples(2, 16, soft=False)
    hard = torch.stack([s.gt_sem_seg.data[0] for s in hard_samples])
    torch.testing.assert_close(model.loss(x, hard_samples)['loss_ce_dice'],
                               sum(wi * ref(o, hard) for wi, o in zip(w, outs)) / len(outs))


def _encoder_decoder(**kw):
    norm = dict(type='GN', num_groups=2, requires_grad=True)
    return MODELS.build(dict(
        type='SoftLabelEncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', size_divisor=8),
        backbone=dict(type='UNet', in_channels=3, base_channels=4, num_stages=3, strides=(1, 1, 1),
                      enc_num_convs=(1, 1, 1), dec_num_convs=(1, 1), downsamples=(True, True),
                      enc_dilations=(1, 1, 1), dec_dilations=(1, 1), norm_cfg=norm,
                      upsample_cfg=dict(type='InterpConv')),
        decode_head=dict(type='FCNHead', in_channels=4, in_index=-1, channels=4, num_convs=1,
                         concat_input=False, num_classes=2, norm_cfg=norm, align_corners=False,
                         loss_decode=dict(type='_SoftTargetSpy')),
        auxiliary_head=dict(type='FCNHead', in_channels=8, in_index=1, channels=4, num_convs=1,
                            concat_input=False, num_classes=2, norm_cfg=norm, align_corners=False,
                            loss_decode=dict(type='_SoftTargetSpy', loss_name='loss_aux_spy')),
        train_cfg=dict(), test_cfg=dict(mode='whole'), **kw))


def test_soft_label_encoder_decoder():
    init_default_scope('visionx')
    torch.manual_seed(0)
    model = _encoder_decoder()
    assert model.supports_soft_labels
    samples = _samples(2, 16)
    losses = model.loss(torch.randn(2, 3, 16, 16), samples)
    assert {'decode.loss_spy', 'decode.acc_seg', 'aux.loss_aux_spy', 'aux.acc_seg'} <= set(losses)
    expected = torch.stack([s.gt_soft_seg.data for s in samples])
    for head in (model.decode_head, model.auxiliary_head):
        (target,) = head.loss_decode.targets
        assert torch.equal(target, expected)
        head.loss_decode.targets.clear()
    # without soft labels it is mmseg's EncoderDecoder: hard (B, H, W) labels
    model.loss(torch.randn(2, 3, 16, 16), _samples(2, 16, soft=False))
    (target,) = model.decode_head.loss_decode.targets
    assert target.dtype == torch.int64 and target.shape == (2, 16, 16)
