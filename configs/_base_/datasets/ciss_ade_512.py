# ADE20K (ADEChallengeData2016: 20210 training / 2000 validation images, 150 classes + background 0) for
# class-incremental segmentation in the MiB frame: 512 crops, full-image evaluation on the validation images
# holding a seen class.  ADE is evaluated in the overlapped setting only (METHODS.md B§6.2).
dataset_type = 'CISSADE20KDataset'
data_root = 'data/ADEChallengeData2016'
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=24,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        task='100-50',
        setting='overlap',
        mode='train',
        data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
        pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        task='100-50',
        mode='test',
        test_images='seen',
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
test_evaluator = dict(type='CISSMetric')
val_dataloader = None
val_evaluator = None
val_cfg = None
