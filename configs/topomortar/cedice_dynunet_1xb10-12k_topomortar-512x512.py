# TopoMortar setup (Valverde et al., BMVC 2025): MONAI DynUNet with 6 deep-supervision heads, full
# 512x512 images, batch 10, SGD 0.01 (momentum 0.99, Nesterov, wd 3e-5), poly, 12k iterations.
# Mixed precision as TopoMortar: AutoAmpOptimWrapper trains with AMP on a GPU and in fp32 on CPU.  The
# other loss configs of this folder inherit from this one and change only `model.loss`.
_base_ = ['../_base_/default_runtime.py']

data_root = 'data/TopoMortar'
label_type = 'accurate'   # 'accurate' | 'noisy' | 'pseudo'
train_size = 'large'      # 'large' (splits.yaml, 50 images) | 'small' (splits_small.yaml, 10 images)

model = dict(
    type='DeepSupervisionSegmentor',
    data_preprocessor=dict(type='SegDataPreProcessor', size_divisor=128),
    network=dict(type='MonaiDynUNet', spatial_dims=2, in_channels=3, out_channels=2, num_levels=8,
                 deep_supervision=True, deep_supr_num=6),
    loss=dict(type='CEDiceLoss'))

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

optim_wrapper = dict(
    type='AutoAmpOptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.99, nesterov=True, weight_decay=3e-5),
    clip_grad=dict(max_norm=12))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=12000, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=12000, val_interval=1200)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # TopoMortar tests the last iteration's model (no best-checkpoint selection).
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1200, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
custom_hooks = [dict(type='TopologyLossScheduleHook', start_fraction=0.7)]
randomness = dict(seed=42)
