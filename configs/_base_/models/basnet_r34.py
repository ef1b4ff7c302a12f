# BASNet (Qin et al., CVPR 2019): ResNet-34 encoder, dilated bridge, decoder with seven side outputs and the
# residual refinement module (eight logits, refined first), trained with the hybrid BCE + SSIM + IoU loss on
# all eight.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # ImageNet statistics on the 0..255 scale; NormalizeByMax makes every image's max 255 first, which
    # together reproduces the official ToTensorLab(flag=0): (img / img.max() - mean) / std.
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=0,
    size_divisor=32)  # training crops are multiples of 32 already, so this never pads them
model = dict(
    type='BASNet',
    data_preprocessor=data_preprocessor,
    # Put torchvision's resnet34 ImageNet weights at this path to initialise layer1..layer4 (the official
    # setting); when the file is missing the encoder warns and trains from scratch.
    encoder=dict(
        type='BASNetEncoder',
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/resnet34-b627a593.pth')),
    loss=dict(type='BASNetHybridLoss', loss_weight=1.0),
    threshold=0.5)
