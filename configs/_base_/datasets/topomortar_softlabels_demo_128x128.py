# The synthetic walls of topomortar_demo_128x128.py with soft-label loading for the self-distillation demo.
_base_ = ['./topomortar_demo_128x128.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadSoftLabels'),
    dict(type='ZScoreNormalize'),
    dict(type='TopoMortarAugment'),
    dict(type='RandomCrop', crop_size=(128, 128)),
    dict(type='PackTopoMortarInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
