# The BARM CPU demo network: BARMHead on a narrow dilated ResNet-18 (output stride 8), BN, trained from scratch.
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
    type='BARMSegmentor',
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
        norm_cfg=dict(type='BN', requires_grad=True, momentum=0.01),
        style='pytorch'),
    decode_head=dict(
        type='BARMHead',
        in_channels=128,
        in_index=0,
        channels=32,
        dilations=(2, 4, 6),
        dropout_ratio=0.1,
        norm_cfg=norm_cfg,
        align_corners=False),
    loss_ce=dict(type='MultiLabelBCELoss', loss_name='loss_bce'),
    pseudo_threshold=0.7,
    loss_weights=dict(tri=5.0, bfd=4.0, gkd=1.0, bga=1.0),
    freeze_norm=True,
    test_cfg=dict(mode='whole'))
