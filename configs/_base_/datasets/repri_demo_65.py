# CPU demo of RePRI: the synthetic PASCAL-layout dataset (8 shape/colour classes, 4 folds of 2 novel
# classes), 64x64 images resized/padded to 65x65, eligibility >= 200 px (objects are small), 5 runs x 100
# episodes per evaluation.
_base_ = ['./pascal5i_417.py']
data_root = 'data/demo/repri'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='LongSideResizePad', size=65),
    dict(type='PackSegInputs'),
]
# class c of the synthetic data: shape (c - 1) % 4 and colour c - 1 (visionx/datasets/fewshot/synthetic.py)
metainfo = dict(classes=('background', 'red-disk', 'green-square', 'blue-triangle', 'yellow-cross', 'magenta-disk',
                         'cyan-square', 'orange-triangle', 'grey-cross'))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LongSideResizePad', size=65),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, num_classes=8, min_pixels=200, metainfo=metainfo, pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, num_classes=8, min_pixels=200, metainfo=metainfo, episodes_per_run=100,
                 pipeline=test_pipeline))
test_cfg = dict(batch_size_val=100)
