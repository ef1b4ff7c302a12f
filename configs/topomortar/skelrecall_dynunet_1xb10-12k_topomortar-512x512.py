# TopoMortar setup with the SkeletonRecallLoss (see cedice_dynunet_1xb10-12k_topomortar-512x512.py).
_base_ = ['./cedice_dynunet_1xb10-12k_topomortar-512x512.py']
model = dict(loss=dict(_delete_=True, type='SkeletonRecallLoss'))
# Tubed skeletons are computed in the data-loader workers (TubedSkeleton) instead of in the step.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='ZScoreNormalize'),
    dict(type='TopoMortarAugment'),
    dict(type='TubedSkeleton'),
    dict(type='PackTopoMortarInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
