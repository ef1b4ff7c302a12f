# GridFormer stage 2 on Synthetic Rooms: margin BCE m = 2 on boundary queries from
# points_iou/boundary0.08/boundary_points_XX.npz (tools/data/gridformer_boundary_sampling.py --rooms), 300
# epochs from stage 1's last checkpoint, constant LR 1e-6 (official effective LR ~1.1e-6, see README).
_base_ = [
    '../_base_/models/gridformer_grid.py', '../_base_/datasets/synthetic_rooms_boundary_10k.py',
    '../_base_/schedules/schedule_adam-constant_201e.py', '../_base_/default_runtime.py'
]

model = dict(loss=dict(type='MarginBCELoss', margin=2.0))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300, val_interval=5)
load_from = 'work_dirs/gridformer_grid64_2xb7-stage1-1600e_synroom-10k/epoch_1600.pth'
