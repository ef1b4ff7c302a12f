# ShapeNet for GridFormer's stage 2 (boundary optimisation): 2048 boundary queries drawn with replacement
# from the points flagged in boundary0.08/boundary_points.npz (tools/data/gridformer_boundary_sampling.py
# data/ShapeNet).
_base_ = ['./shapenet_occupancy_3k.py']
train_pipeline = [
    dict(type='SubsamplePointcloud', num_points=3000),
    dict(type='PointcloudNoise', stddev=0.005),
    dict(type='BoundaryPointsFilter', online=False),  # the 0.08 band of boundary_dir='boundary0.08'
    dict(type='SubsamplePoints', num_points=2048),
    dict(type='PackOccupancyInputs'),
]
train_dataloader = dict(dataset=dict(boundary_dir='boundary0.08', pipeline=train_pipeline))
