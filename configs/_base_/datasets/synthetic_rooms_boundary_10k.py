# Synthetic Rooms for GridFormer's stage 2: boundary queries from points_iou/boundary0.08/
# boundary_points_XX.npz (tools/data/gridformer_boundary_sampling.py --rooms).
_base_ = ['./synthetic_rooms_10k.py']
train_pipeline = [
    dict(type='SubsamplePointcloud', num_points=10000),
    dict(type='PointcloudNoise', stddev=0.005),
    dict(type='BoundaryPointsFilter', online=False),  # the 0.08 band of boundary_dir='boundary0.08'
    dict(type='SubsamplePoints', num_points=2048),
    dict(type='PackOccupancyInputs'),
]
train_dataloader = dict(dataset=dict(boundary_dir='boundary0.08', pipeline=train_pipeline))
