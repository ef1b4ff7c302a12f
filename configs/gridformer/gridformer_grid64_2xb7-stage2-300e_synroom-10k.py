# GridFormer stage 2 on Synthetic Rooms: margin BCE m = 2 on boundary queries from
# points_iou/boundary0.08/boundary_points_XX.npz (tools/data/gridformer_boundary_sampling.py --rooms), 300
# epochs from stage 1's last checkpoint, constant LR 1e-6 (official effective LR ~1.1e-6, see README).
_base_ = ['./gridformer_grid64_2xb7-stage1-1600e_synroom-10k.py']

model = dict(loss=dict(type='MarginBCELoss', margin=2.0))
train_pipeline = [
    dict(type='SubsamplePointcloud', num_points=10000),
    dict(type='PointcloudNoise', stddev=0.005),
    dict(type='BoundaryPointsFilter', radius=0.08, k=100, online=False),
    dict(type='SubsamplePoints', num_points=2048),
    dict(type='PackOccupancyInputs'),
]
train_dataloader = dict(dataset=dict(boundary_dir='boundary0.08', pipeline=train_pipeline))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300, val_interval=5)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-6))
param_scheduler = []
load_from = 'work_dirs/gridformer_grid64_2xb7-stage1-1600e_synroom-10k/epoch_1600.pth'
