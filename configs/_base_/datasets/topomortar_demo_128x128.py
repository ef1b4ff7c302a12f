# Synthetic brick walls in the TopoMortar layout (`python tools/data/make_demo_data.py --root data/demo`):
# 128x128 random crops, batch 4, no worker processes to spare the 2 CPU cores of a demo machine.
_base_ = ['./topomortar_512x512.py']
data_root = 'data/demo/topomortar'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='ZScoreNormalize'),
    dict(type='TopoMortarAugment'),
    dict(type='RandomCrop', crop_size=(128, 128)),
    dict(type='PackTopoMortarInputs'),
]
train_dataloader = dict(batch_size=4, num_workers=1, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
