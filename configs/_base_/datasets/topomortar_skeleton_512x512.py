# TopoMortar with tubed skeletons of the labels for the SkeletonRecallLoss, computed in the data-loader
# workers (TubedSkeleton) instead of in the training step.
_base_ = ['./topomortar_512x512.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='ZScoreNormalize'),
    dict(type='TopoMortarAugment'),
    dict(type='TubedSkeleton'),
    dict(type='PackTopoMortarInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
