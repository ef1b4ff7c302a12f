# The CISS CPU demo network: DeepLabV3 layout (dilated ResNet-18 at output stride 8, ASPP) with narrow
# widths (base 16 channels, head 32), trained from scratch on the synthetic data.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(48, 48))
model = dict(
    type='IncrementalEncoderDecoder',
    classes_per_step=[4],
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=16,
        base_channels=16,
        num_stages=4,
        out_indices=(3,),
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        norm_cfg=norm_cfg,
        style='pytorch'),
    decode_head=dict(
        type='IncrementalASPPHead',
        in_channels=128,
        in_index=0,
        channels=32,
        dilations=(1, 2, 4, 6),
        dropout_ratio=0.1,
        norm_cfg=norm_cfg,
        align_corners=False),
    new_classifier_init='normal',
    loss_ce=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True,
                 loss_name='loss_ce'),
    loss_kd=None,
    test_cfg=dict(mode='whole'))
