# The CISS CPU demo data (visionx.datasets.ciss.synthetic, written by tools/data/make_demo_data.py to
# data/demo/ciss): VOC layout, 7 object classes (VOC ids 1..7) drawn as coloured shapes, several per image,
# 240 train_aug / 60 val images of 64 px.  Random flips and 48 px crops; evaluation on full val images.
dataset_type = 'CISSVOCDataset'
data_root = 'data/demo/ciss/VOC2012'
crop_size = (48, 48)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
# The demo task: background + VOC 1..3 at step 0, then {4, 5} and {6, 7}.
demo_task = [[0, 1, 2, 3], [4, 5], [6, 7]]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        task=demo_task,
        setting='overlap',
        mode='train',
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        task=demo_task,
        mode='test',
        test_images='all',
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        pipeline=test_pipeline))
test_evaluator = dict(type='CISSMetric')
val_dataloader = None
val_evaluator = None
val_cfg = None
