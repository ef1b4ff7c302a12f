# BASNet (CVPR 2019), official schedule: DUTS-TR (flip-augmented offline), RescaleT(256) + RandomCrop(224),
# Adam 1e-3 constant, batch 8, ~400k iterations; test at 256x256 on six SOD test sets, maps resized back to
# the original size.  See configs/basnet/README.md.
_base_ = ['../_base_/default_runtime.py']

crop_size = (224, 224)
test_size = (256, 256)
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

dataset_type = 'SalientDataset'
data_root = 'data/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadSalientMask'),
    dict(type='Resize', scale=test_size, keep_ratio=False),  # RescaleT(256): aspect ratio ignored
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='NormalizeByMax'),
    dict(type='PackSalientInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=test_size, keep_ratio=False),
    dict(type='NormalizeByMax'),
    dict(type='LoadSalientMask'),  # after Resize: the GT stays at the original size for evaluation
    dict(type='PackSalientInputs'),
]


def _sod_set(name, img_dir, mask_dir, img_suffix='.jpg'):
    return dict(type=dataset_type, dataset_name=name, data_root=data_root + name,
                data_prefix=dict(img_path=img_dir, seg_map_path=mask_dir), img_suffix=img_suffix,
                seg_map_suffix='.png', pipeline=test_pipeline)


train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        dataset_name='DUTS-TR',
        data_root=data_root + 'DUTS/DUTS-TR',
        # the offline horizontally-flipped copy of DUTS-TR (21,106 images), see README
        data_prefix=dict(img_path='im_aug', seg_map_path='gt_aug'),
        pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            _sod_set('SOD', 'Imgs', 'GT'),
            _sod_set('ECSSD', 'images', 'ground_truth_mask'),
            _sod_set('DUT-OMRON', 'DUT-OMRON-image', 'pixelwiseGT-new-PNG'),
            _sod_set('PASCAL-S', 'Imgs', 'GT'),
            _sod_set('HKU-IS', 'imgs', 'gt', img_suffix='.png'),
            _sod_set('DUTS-TE', 'DUTS-TE-Image', 'DUTS-TE-Mask'),
        ]))
test_evaluator = dict(type='SODMetric')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0))
param_scheduler = []  # constant learning rate, as the official training script
train_cfg = dict(type='IterBasedTrainLoop', max_iters=400000)
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000, max_keep_ckpts=10),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
