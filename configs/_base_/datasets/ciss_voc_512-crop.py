# Pascal VOC 2012 + SBD for class-incremental segmentation in the BACS frame (METHODS.md B§5.3-5.4): random
# scale 0.5-2.0 and 512 crop, h-flip for training; evaluation on the shorter-side-512 centre crop of every val
# image (official: resize 512 + centre crop 512).  Everything else as ciss_voc_513-crop.py.
_base_ = ['./ciss_voc_513-crop.py']
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # mmseg's VOC recipe for BACS's RandomResizedCrop(512, scale 0.5-2.0): shorter side 512 x [0.5, 2], 512 crop
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CenterCropFrame', size=512),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=24, dataset=dict(pipeline=train_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
