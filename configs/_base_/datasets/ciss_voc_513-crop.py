# Pascal VOC 2012 with the SBD masks (SegmentationClassAug: 10582 train_aug / 1449 val images) for class-
# incremental segmentation in the SSUL/BARM frame (METHODS.md B§4.3, §6): random scale 0.5-2.0, 513 crop,
# h-flip; evaluation on the shorter-side-513 centre crop of every val image (CenterCropFrame).  The method
# config sets the task: train_dataloader.dataset.task / .setting and test_dataloader.dataset.task.  The
# IncrementalRunner sets `step` for every step; the per-image class lists are written next to the data
# (train_aug_cls.txt, val_cls.txt) on first use.
dataset_type = 'CISSVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (513, 513)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # mmseg's VOC recipe for "scale 0.5-2.0": shorter side 513 x [0.5, 2] (SSUL scales the raw image)
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
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        task='15-1',
        setting='overlap',
        mode='train',
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        task='15-1',
        mode='test',
        test_images='all',
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        pipeline=test_pipeline))
test_evaluator = dict(type='CISSMetric')
# No in-training validation: each step is tested after training (old/new/all mIoU); the runner keeps the
# last checkpoint of every step (BARM selects its step-0 checkpoint by validation mIoU on the same val set).
val_dataloader = None
val_evaluator = None
val_cfg = None
