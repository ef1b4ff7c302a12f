# ShapeNet in the ONet layout (13 classes): 3000 noisy input points (sigma 0.005), 2048 uniform queries,
# batch 32 (paper: 2 GPUs with DataParallel -> 2 x 16 here).  Validation IoU at 0.2; test meshes scored on
# 100k points with F-scores at 0.01 / 0.015 / 0.02.
data_root = 'data/ShapeNet'
dataset_type = 'ShapeNetDataset'

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
