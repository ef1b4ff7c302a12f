# DeepLabV3 with a ResNet-101 at output stride 16 (layer4 dilated, ASPP rates 6/12/18), the network of MiB,
# PLOP, SSUL and BARM (METHODS.md B§6.4), as an IncrementalEncoderDecoder: the classifier grows per step and
# the frozen previous-step model is kept for distillation.  `classes_per_step` is the step-0 size of the task
# (the IncrementalRunner sets it per step).  Backbone: torchvision's ImageNet ResNet-101 (mmseg's `ResNet`
# reads torchvision's keys); put the file at the path below, it is not downloaded.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(512, 512))
model = dict(
    type='IncrementalEncoderDecoder',
    classes_per_step=[16],
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=101,
        num_stages=4,
        out_indices=(3,),
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/resnet101-63fe2227.pth')),
    decode_head=dict(
        type='IncrementalASPPHead',
        in_channels=2048,
        in_index=0,
        channels=256,
        dilations=(1, 6, 12, 18),
        dropout_ratio=0.1,
        norm_cfg=norm_cfg,
        align_corners=False),
    new_classifier_init='normal',
    loss_ce=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True,
                 loss_name='loss_ce'),
    loss_kd=None,
    test_cfg=dict(mode='whole'))
