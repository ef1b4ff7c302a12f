"""RePRI's base model: the label-smoothed CE by hand and the segmentor's bottleneck features."""
import math

import pytest
import torch
from mmengine.registry import init_default_scope

from visionx.models.losses.repri import LabelSmoothedCrossEntropyLoss
from visionx.registry import MODELS


def test_label_smoothed_ce_by_hand():
    # pixel 0: softmax (1/4, 1/2, 1/4), class 0; pixel 1 ignored; pixel 2: uniform, class 2
    logits = torch.tensor([[0.0, math.log(2), 0.0], [5.0, 1.0, 2.0], [0.0, 0.0, 0.0]]).T.reshape(1, 3, 1, 3)
    target = torch.tensor([[[0, 255, 2]]])
    eps = 0.1
    q_other = eps / 2  # ε/(C−1), not ε/C
    px0 = -((1 - eps) * math.log(0.25) + q_other * math.log(0.5) + q_other * math.log(0.25))
    px2 = math.log(3)  # the smoothed target sums to 1 and every log-probability is −ln 3
    loss = LabelSmoothedCrossEntropyLoss(epsilon=eps)
    assert loss(logits, target).item() == pytest.approx((px0 + px2) / 2, rel=1e-6)
    per_px = loss(logits, target, reduction_override='none')
    assert per_px[0, 0, 1].item() == 0.0
    assert loss(logits, torch.full_like(target, 255)).item() == 0.0
    with pytest.raises(ValueError, match='outside'):
        loss(logits, torch.tensor([[[3, 0, 0]]]))


def tiny_pspnet(num_classes=4):
    init_default_scope('visionx')
    cfg = dict(
        type='FewShotEncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0.0] * 3, std=[1.0] * 3),
        backbone=dict(type='ResNetV1c', depth=18, base_channels=4, stem_channels=8, num_stages=4,
                      out_indices=(3,), dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1),
                      norm_cfg=dict(type='BN')),
        decode_head=dict(type='PSPHead', in_channels=32, in_index=0, channels=16, pool_scales=(1, 2, 3, 6),
                         dropout_ratio=0.1, num_classes=num_classes, align_corners=True,
                         loss_decode=dict(type='LabelSmoothedCrossEntropyLoss', epsilon=0.1)))
    return MODELS.build(cfg)


def test_bottleneck_features_feed_the_classifier():
    torch.manual_seed(0)
    model = tiny_pspnet().eval()
    x = torch.randn(2, 3, 33, 33)
    feats = model.extract_bottleneck_features(x)
    assert feats.shape == (2, 16, 5, 5) and model.bottleneck_dim == 16  # (33 − 1)/8 + 1 = 5 at stride 8
    head = model.decode_head
    assert torch.allclose(head.conv_seg(feats), head(model.extract_feat(x)), atol=1e-6)
    assert (feats >= 0).all()  # after the bottleneck's ReLU
