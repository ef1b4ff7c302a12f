# TopoMortar (Valverde et al., BMVC 2025): full 512x512 images, batch 10.  Its own augmentation
# (TopoMortarAugment) instead of random crops; z-score normalisation per image.
data_root = 'data/TopoMortar'
label_type = 'accurate'   # 'accurate' | 'noisy' | 'pseudo'
train_size = 'large'      # 'large' (splits.yaml, 50 images) | 'small' (splits_small.yaml, 10 images)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='ZScoreNormalize'),
    dict(type='TopoMortarAugment'),
    dict(type='PackTopoMortarInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='ZScoreNormalize'),
    dict(type='PackTopoMortarInputs'),
]
train_dataloader = dict(
    batch_size=10, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='TopoMortarDataset', data_root=data_root, split='train', label_type=label_type,
                 size=train_size, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='TopoMortarDataset', data_root=data_root, split='val', label_type=label_type,
                 size=train_size, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='TopoMortarDataset', data_root=data_root, split='test', label_type=label_type,
                 size=train_size, pipeline=test_pipeline))
val_evaluator = dict(type='TopologyMetric')
test_evaluator = val_evaluator
