# Synthetic LA-layout volumes for the CPU demo (tools/data/make_demo_data.py): 4 labelled + 12 unlabelled
# cases, 32^3 patches, no worker processes.
_base_ = ['./la_112x112x80.py']
data_root = 'data/demo/tracoco'
patch_size = (32, 32, 32)
train_pipeline = [
    dict(type='LoadH5Volume'),
    dict(type='RandomRotFlip3D'),
    dict(type='MinMaxNormalize3D'),
    dict(type='RandomBrightness3D', scale_range=(0.75, 1.25)),
    dict(type='TranslatedViewCrop3D', patch_size=patch_size),
    dict(type='PackVolumeInputs'),
]
train_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, labeled_num=4, pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
