# Synthetic shapes in the ShapeNet layout for the GridFormer CPU demo (tools/data/make_demo_data.py ->
# data/demo/gridformer): 512 noisy inputs and 512 queries (paper: 3000 and 2048), batch 4, no worker
# processes; per-class validation IoU at 0.2, test meshes scored on 20k points.
data_root = 'data/demo/gridformer'
num_inputs = 512
num_queries = 512

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
    dataset=dict(type='ShapeNetDataset', data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ShapeNetDataset', data_root=data_root, split='val', with_iou=True,
                 test_mode=True, pipeline=val_pipeline))
test_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ShapeNetDataset', data_root=data_root, split='test', with_iou=True,
                 with_surface=True, test_mode=True, pipeline=test_pipeline))
val_evaluator = dict(type='OccupancyIoUMetric', threshold=0.2, per_class=True)
test_evaluator = dict(type='MeshReconstructionMetric', n_points=20000)
