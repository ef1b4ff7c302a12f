# TopoMortar's RandHue framework (SC6): RandHue (p 0.5) appended to the training augmentations.
_base_ = ['./topomortar_512x512.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='ZScoreNormalize'),
    dict(type='TopoMortarAugment'),
    dict(type='RandHue', prob=0.5),
    dict(type='PackTopoMortarInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
