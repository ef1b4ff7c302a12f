# GridFormer stage 2 (boundary optimisation) on ShapeNet: margin BCE m = 2 on 2048 boundary queries drawn with
# replacement from the points flagged in boundary0.08/boundary_points.npz (tools/data/
# gridformer_boundary_sampling.py data/ShapeNet), initialised from stage 1's last checkpoint, 201 epochs.
# LR: the official refine.py restores stage 1's optimiser/scheduler state, which leaves the LR at the end of
# stage 1's cosine (about 1e-8); here a constant 1e-6 (the value refine.py writes) is used - see README.
_base_ = ['./gridformer_3plane64_2xb16-stage1-1501e_shapenet-3k.py']

model = dict(loss=dict(type='MarginBCELoss', margin=2.0))
train_pipeline = [
    dict(type='SubsamplePointcloud', num_points=3000),
    dict(type='PointcloudNoise', stddev=0.005),
    dict(type='BoundaryPointsFilter', radius=0.08, k=100, online=False),
    dict(type='SubsamplePoints', num_points=2048),
    dict(type='PackOccupancyInputs'),
]
train_dataloader = dict(dataset=dict(boundary_dir='boundary0.08', pipeline=train_pipeline))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=201, val_interval=10)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-6))
param_scheduler = []
load_from = 'work_dirs/gridformer_3plane64_2xb16-stage1-1501e_shapenet-3k/epoch_1501.pth'
