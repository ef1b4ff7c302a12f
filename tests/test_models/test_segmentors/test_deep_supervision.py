"""DeepSupervisionSegmentor / MonaiDynUNet: exact weights, gating of auxiliary outputs, inference."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from visionx.models.segmentors import DeepSupervisionSegmentor, deep_supervision_weights
from visionx.registry import MODELS

TINY = dict(type='MonaiDynUNet', num_levels=4, filters=[4, 8, 8, 8], deep_supr_num=2)


@MODELS.register_module(force=True)
class _RecordingLoss(nn.Module):
    """Returns the mean logit; records the ``gate`` each call received."""

    def __init__(self, loss_name: str = 'loss_rec'):
        super().__init__()
        self.loss_name = loss_name
        self.gates = []

    def forward(self, pred, target, gate=None, **kwargs):
        self.gates.append(gate)
        return pred.mean()


def _samples(b, size):
    out = []
    for _ in range(b):
        ds = SegDataSample()
        ds.gt_sem_seg = PixelData(data=(torch.rand(1, size, size) > 0.5).long())
        ds.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
                             padding_size=[0, 0, 0, 0]))
        out.append(ds)
    return out


def test_weights_are_topomortar_values():
    w = deep_supervision_weights(6)
    assert w[0] == 1.0
    assert w[1:] == pytest.approx([0.25197, 0.12598, 0.06299, 0.03150, 0.01575, 0.00787], abs=1e-5)
    assert sum(w[1:]) == pytest.approx(63 / 127)  # (sum_{i=1..6} 2^-i) / (sum_{j=0..6} 2^-j)


def test_param_count_of_topomortar_dynunet():
    init_default_scope('visionx')
    net = MODELS.build(dict(type='MonaiDynUNet'))
    assert sum(p.numel() for p in net.parameters()) == 46_314_030
    assert net.size_divisor == 128


def test_loss_combines_outputs_and_gates_auxiliaries():
    init_default_scope('visionx')
    torch.manual_seed(0)
    model = DeepSupervisionSegmentor(network=TINY, loss=dict(type='_RecordingLoss'),
                                     data_preprocessor=dict(type='SegDataPreProcessor', size_divisor=8))
    model.train()
    x = torch.randn(2, 3, 16, 16)
    losses = model.loss(x, _samples(2, 16))
    outs = model.network(x)
    assert len(outs) == 3
    w = deep_supervision_weights(2)
    expected = sum(wi * o.mean() for wi, o in zip(w, outs)) / 3
    assert losses['loss_rec'].item() == pytest.approx(expected.item(), rel=1e-5)
    assert model.losses[0].gates == [None, False, False]


def test_predict_pads_and_handles_one_channel():
    init_default_scope('visionx')
    model = DeepSupervisionSegmentor(network=dict(TINY, out_channels=1), loss=dict(type='CEDiceLoss'),
                                     data_preprocessor=dict(type='SegDataPreProcessor', size_divisor=8))
    model.eval()
    with torch.no_grad():
        res = model.predict(torch.randn(1, 3, 20, 20), _samples(1, 20))
        logits = model.encode_decode(torch.randn(1, 3, 20, 20), [])
    assert res[0].pred_sem_seg.data.shape == (1, 20, 20)
    assert logits.shape == (1, 1, 20, 20)
    assert set(res[0].pred_sem_seg.data.unique().tolist()) <= {0, 1}


def test_losses_plug_into_mmseg_encoder_decoder():
    init_default_scope('visionx')
    for loss in ('clDiceLoss', 'SkeletonRecallLoss', 'WarpingLoss'):
        model = MODELS.build(dict(
            type='EncoderDecoder', data_preprocessor=dict(type='SegDataPreProcessor', size_divisor=16),
            backbone=dict(type='UNet', in_channels=3, base_channels=4, num_stages=3, strides=(1, 1, 1),
                          enc_num_convs=(1, 1, 1), dec_num_convs=(1, 1), downsamples=(True, True),
                          enc_dilations=(1, 1, 1), dec_dilations=(1, 1)),
            decode_head=dict(type='FCNHead', in_channels=4, in_index=2, channels=4, num_convs=1, num_classes=2,
                             loss_decode=dict(type=loss)),
            test_cfg=dict(mode='whole')))
        losses = model.loss(torch.randn(2, 3, 16, 16), _samples(2, 16))
        name = model.decode_head.loss_decode.loss_name
        assert torch.isfinite(losses[f'decode.{name}'])
        losses[f'decode.{name}'].backward()


def test_precomputed_skeletons_are_padded_and_used():
    init_default_scope('visionx')
    torch.manual_seed(0)
    model = DeepSupervisionSegmentor(network=TINY, loss=dict(type='SkeletonRecallLoss'),
                                     data_preprocessor=dict(type='SegDataPreProcessor', size_divisor=8))
    model.train()
    samples = _samples(2, 16)
    for ds in samples:
        ds.gt_skeleton = PixelData(data=ds.gt_sem_seg.data[:, :12, :12].clone())  # unpadded, smaller
    x = torch.randn(2, 3, 16, 16)
    with_skel = model.loss(x, samples)['loss_skel_recall']
    for ds in samples:
        del ds.gt_skeleton
    on_the_fly = model.loss(x, samples)['loss_skel_recall']
    assert torch.isfinite(with_skel) and with_skel.item() != pytest.approx(on_the_fly.item())


@MODELS.register_module(force=True)
class _PointwiseNet(nn.Module):
    """Two 1x1-conv "outputs": position-independent, so sliding windows must reproduce the whole image.

    Records the spatial size of every input it sees.
    """

    def __init__(self, out_channels: int = 2, size_divisor: int = 4):
        super().__init__()
        self.out_channels, self.size_divisor = out_channels, size_divisor
        self.main, self.aux = nn.Conv2d(3, out_channels, 1), nn.Conv2d(3, out_channels, 1)
        self.seen = []

    def forward(self, x):
        self.seen.append(tuple(x.shape[-2:]))
        return [self.main(x), self.aux(x)]


def _slide_model(network, test_cfg):
    init_default_scope('visionx')
    torch.manual_seed(0)
    return DeepSupervisionSegmentor(network=network, loss=dict(type='CEDiceLoss'), test_cfg=test_cfg).eval()


@pytest.mark.parametrize('channels', [2, 1])
def test_slide_inference_with_overlapping_crops_equals_whole(channels):
    net = dict(type='_PointwiseNet', out_channels=channels)
    whole = _slide_model(net, None)
    slide = _slide_model(net, dict(mode='slide', crop_size=(8, 8), stride=(5, 5)))
    slide.load_state_dict(whole.state_dict())
    x = torch.randn(2, 3, 19, 23)
    with torch.no_grad():
        ref = whole.predict(x, _samples_of(2, (19, 23)))
        out = slide.predict(x, _samples_of(2, (19, 23)))
    # rows 0, 5, 10 and a last crop flush with the border at 11; columns 0, 5, 10, 15: 4 x 4 windows of 8 x 8
    assert slide.network.seen == [(8, 8)] * 16 and whole.network.seen == [(20, 24)]
    for r, o in zip(ref, out):
        assert torch.allclose(o.seg_logits.data, r.seg_logits.data, atol=1e-6)
        assert torch.equal(o.pred_sem_seg.data, r.pred_sem_seg.data)
        assert o.seg_logits.data.shape == (2, 19, 23)  # one channel: [threshold, logit] after averaging


def test_slide_with_a_crop_of_the_whole_image_equals_whole_on_the_dynunet():
    whole = _slide_model(TINY, dict(mode='whole'))
    slide = _slide_model(TINY, dict(mode='slide', crop_size=(20, 20), stride=(20, 20)))
    slide.load_state_dict(whole.state_dict())
    x = torch.randn(1, 3, 20, 20)
    with torch.no_grad():  # 20 x 20 is padded to the size divisor 8 inside each crop, then cropped back
        ref = whole.inference(x, [dict(img_shape=(20, 20))])
        out = slide.inference(x, [dict(img_shape=(20, 20))])
    assert out.shape == (1, 2, 20, 20)
    assert torch.allclose(out, ref, atol=1e-6)


def test_test_cfg_is_checked():
    with pytest.raises(ValueError, match=r"\('whole', 'slide'\).*'tiled'"):
        _slide_model(TINY, dict(mode='tiled'))
    with pytest.raises(ValueError, match='crop_size'):
        _slide_model(TINY, dict(mode='slide', stride=(4, 4)))
    with pytest.raises(ValueError, match='out_channels'):
        _slide_model(dict(type='_RecordingNet'), dict(mode='slide', crop_size=(8, 8), stride=(4, 4)))


@MODELS.register_module(force=True)
class _RecordingNet(nn.Module):
    """A network without ``out_channels``."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)

    def forward(self, x):
        return [self.conv(x)]


def _samples_of(b, shape):
    out = []
    for _ in range(b):
        ds = SegDataSample()
        ds.set_metainfo(dict(img_shape=shape, ori_shape=shape, pad_shape=shape, padding_size=[0, 0, 0, 0]))
        out.append(ds)
    return out
