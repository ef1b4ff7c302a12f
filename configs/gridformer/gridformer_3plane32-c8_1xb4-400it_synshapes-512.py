# GridFormer CPU demo, stage 1, on the synthetic shapes (tools/data/make_demo_data.py -> data/demo/gridformer).
# Much smaller than the paper (3-plane 64^2, c_dim 32, 3000 inputs, 2048 queries, batch 32, 1501 epochs):
# planes 32^2, c_dim 8 (272k parameters), 512 noisy inputs, 512 queries, batch 4, 400 iterations with Adam
# 1e-3 (paper 1e-4) and cosine decay; validation IoU at 0.2 every 200 iterations; meshing at 64^3 for tests.
_base_ = ['../_base_/default_runtime.py']

data_root = 'data/demo/gridformer'
num_inputs = 512
num_queries = 512

model = dict(
    type='GridFormer',
    data_preprocessor=dict(type='BaseDataPreprocessor'),
    encoder=dict(plane_type=('xz', 'xy', 'yz'), resolution=32, c_dim=8, hidden_dim=8),
    decoder=dict(hidden_size=8, n_blocks=5),
    loss=dict(type='MarginBCELoss', margin=0.0),
    test_cfg=dict(points_batch_size=50000,
                  mesh=dict(method='sparse_mc', resolution=64, refine_iters=3, batch_points=50000)))

train_pipeline = [
    dict(type='SubsamplePointcloud', num_points=num_inputs),
    dict(type='PointcloudNoise', stddev=0.005),
    dict(type='SubsamplePoints', num_points=num_queries),
    dict(type='PackOccupancyInputs'),
]
val_pipeline = [
    dict(type='SubsamplePointcloud', num_points=num_inputs),
    dict(type='PointcloudNoise', stddev=0.005),
    dict(type='PackOccupancyInputs'),
]
test_pipeline = [
    dict(type='SubsamplePointcloud', num_points=num_inputs),
    dict(type='PointcloudNoise', stddev=0.005),
    dict(type='PackOccupancyInputs', generate_mesh=True),
]

train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ShapeNetOccupancyDataset', data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ShapeNetOccupancyDataset', data_root=data_root, split='val', with_iou=True,
                 test_mode=True, pipeline=val_pipeline))
test_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ShapeNetOccupancyDataset', data_root=data_root, split='test', with_iou=True,
                 with_surface=True, test_mode=True, pipeline=test_pipeline))
val_evaluator = dict(type='OccupancyIoUMetric', threshold=0.2, per_class=True)
test_evaluator = dict(type='MeshReconstructionMetric', n_points=20000)

max_iters = 400
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=200)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-5, by_epoch=False)]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=200, max_keep_ckpts=1,
                    save_best='occ/iou', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'))
randomness = dict(seed=0)
