# BARM's network (METHODS.md B§4.1, official `deeplabv3bga_resnet101`): torchvision ResNet-101 at output stride
# 16 (layer4 dilated, BN momentum 0.01), ASPP rates 6/12/18, `head_pre`, one "ear" per incremental step and
# per-step heads with a background-residual channel (BARMHead), trained by BARMSegmentor.  SyncBN as the
# official multi-GPU runs.  Backbone: torchvision's ImageNet ResNet-101 at the path below (not downloaded).
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(513, 513))
model = dict(
    type='BARMSegmentor',
    classes_per_step=[16],
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=101,
        num_stages=4,
        out_indices=(3,),
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        norm_cfg=dict(type='SyncBN', requires_grad=True, momentum=0.01),
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/resnet101-63fe2227.pth')),
    decode_head=dict(
        type='BARMHead',
        in_channels=2048,
        in_index=0,
        channels=256,
        dilations=(6, 12, 18),
        dropout_ratio=0.1,
        norm_cfg=norm_cfg,
        align_corners=False),
    loss_ce=dict(type='MultiLabelBCELoss', loss_name='loss_bce'),
    pseudo_threshold=0.7,
    loss_weights=dict(tri=5.0, bfd=4.0, gkd=1.0, bga=1.0),
    freeze_norm=True,
    test_cfg=dict(mode='whole'))
