# BraTS19 (pre-processed h5 volumes, one input channel, 2 classes): 249 training cases, 96^3 patches; the
# loaders, sampler and evaluation of la_112x112x80.py.  The official TraCoCo script validates on
# data/val.list, which was never committed; this dataset evaluates on test.list (60 cases).
_base_ = ['./la_112x112x80.py']
data_root = 'data/BraTS19'
patch_size = (96, 96, 96)
train_pipeline = [
    dict(type='LoadH5Volume'),
    dict(type='RandomRotFlip3D'),
    dict(type='MinMaxNormalize3D'),
    dict(type='RandomBrightness3D', scale_range=(0.75, 1.25)),
    dict(type='TranslatedViewCrop3D', patch_size=patch_size),
    dict(type='PackVolumeInputs'),
]
train_dataloader = dict(
    dataset=dict(type='BraTS19Dataset', data_root=data_root, labeled_num=25, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type='BraTS19Dataset', data_root=data_root, split_file='test.list'))
test_dataloader = val_dataloader
