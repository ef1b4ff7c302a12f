# CPU-demo variant of RePRI's PSPNet: deep-stem ResNet-18 with 8 base channels (stem 8-8-16), the same
# dilations / output stride 8 / PPM bins, a 32-d bottleneck, plain BN; 6 base classes + background.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='FewShotSegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=(65, 65))
model = dict(
    type='FewShotEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='ResNetV1c', depth=18, base_channels=8, stem_channels=16, num_stages=4,
                  out_indices=(3, ), dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg,
                  style='pytorch', contract_dilation=False),
    decode_head=dict(type='PSPHead', in_channels=64, in_index=0, channels=32, pool_scales=(1, 2, 3, 6),
                     dropout_ratio=0.1, num_classes=7, norm_cfg=norm_cfg, align_corners=True,
                     loss_decode=dict(type='LabelSmoothedCrossEntropyLoss', epsilon=0.1, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
