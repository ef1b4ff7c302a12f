# Pancreas-CT (pre-processed h5 volumes): 62 training cases (train.list), 20 evaluation cases, 96^3
# patches; the loaders, sampler and evaluation of la_112x112x80.py.
_base_ = ['./la_112x112x80.py']
data_root = 'data/Pancreas'
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
    dataset=dict(type='PancreasDataset', data_root=data_root, labeled_num=6, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type='PancreasDataset', data_root=data_root))
test_dataloader = val_dataloader
