# ADE20K (ADEChallengeData2016, 150 classes + background 0) for class-incremental segmentation in the SSUL/BARM
# frame (METHODS.md B§4.3-4.4): random scale 0.5-2.0, 513 crop, h-flip; evaluation on the shorter-side-513 centre
# crop of every validation image.  Overlapped setting only.  The method config sets the task; the runner sets
# `step`; the per-image class lists are cached next to the data (training_cls.txt, validation_cls.txt).
dataset_type = 'CISSADE20KDataset'
data_root = 'data/ADEChallengeData2016'
crop_size = (513, 513)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # "scale 0.5-2.0" as a 2048 x 513 reference scaled by 0.5-2.0 (SSUL scales the raw image)
    dict(type='RandomResize', scale=(2048, 513), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CenterCropFrame', size=513),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
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
        test_images='all',
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
test_evaluator = dict(type='CISSMetric')
# No in-training validation: each step is tested after training (old/new/all mIoU); the runner keeps the
# last checkpoint of every step (BARM selects its step-0 checkpoint by validation mIoU on the same val set).
val_dataloader = None
val_evaluator = None
val_cfg = None
