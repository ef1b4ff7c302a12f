# GridFormer stage 1 on ShapeNet (ONet layout, 13 classes): 3-plane 64^2 point-grid U-Net, 3000 noisy input
# points (sigma 0.005), 2048 uniform queries, plain BCE (margin 0) summed over points, batch 32 (paper: 2 GPUs
# with DataParallel -> 2 x 16 here), Adam 1e-4, cosine T_max 1500 epochs to 1e-8, 1501 epochs, validation IoU
# at 0.2 every 10 epochs with best-checkpoint selection.  (list17/GridFormer shapenet_3plane_attention_encoder)
_base_ = ['../_base_/default_runtime.py']

data_root = 'data/ShapeNet'
dataset_type = 'ShapeNetOccupancyDataset'

model = dict(
    type='GridFormer',
    data_preprocessor=dict(type='BaseDataPreprocessor'),
    encoder=dict(plane_type=('xz', 'xy', 'yz'), resolution=64, c_dim=32, hidden_dim=32),
    decoder=dict(hidden_size=32, n_blocks=5),
    loss=dict(type='MarginBCELoss', margin=0.0),
    test_cfg=dict(points_batch_size=100000,
                  mesh=dict(method='sparse_mc', resolution=256, refine_iters=10, batch_points=50000)))

train_pipeline = [
    dict(type='SubsamplePointcloud', num_points=3000),
    dict(type='PointcloudNoise', stddev=0.005),
    dict(type='SubsamplePoints', num_points=2048),
    dict(type='PackOccupancyInputs'),
]
val_pipeline = [
    dict(type='SubsamplePointcloud', num_points=3000),
    dict(type='PointcloudNoise', stddev=0.005),
    dict(type='PackOccupancyInputs'),
]
test_pipeline = [
    dict(type='SubsamplePointcloud', num_points=3000),
    dict(type='PointcloudNoise', stddev=0.005),
    dict(type='PackOccupancyInputs', generate_mesh=True),
]
train_dataloader = dict(
    batch_size=16, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', with_iou=True, test_mode=True,
                 pipeline=val_pipeline))
test_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', with_iou=True, with_surface=True,
                 test_mode=True, pipeline=test_pipeline))
val_evaluator = dict(type='OccupancyIoUMetric', threshold=0.2)
test_evaluator = dict(type='MeshReconstructionMetric', n_points=100000, f_thresholds=(0.01, 0.015, 0.02))

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1501, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=1500, eta_min=1e-8, by_epoch=True, end=1500)]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=2, max_keep_ckpts=5, save_best='occ/iou', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'))
