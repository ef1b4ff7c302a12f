# GridFormer stage 2 (boundary optimisation) on ShapeNet: margin BCE m = 2 on 2048 boundary queries drawn with
# replacement from the points flagged in boundary0.08/boundary_points.npz (tools/data/
# gridformer_boundary_sampling.py data/ShapeNet), initialised from stage 1's last checkpoint, 201 epochs.
# LR: the official refine.py restores stage 1's optimiser/scheduler state, which leaves the LR at the end of
# stage 1's cosine (about 1e-8); here a constant 1e-6 (the value refine.py writes) is used - see README.
_base_ = [
    '../_base_/models/gridformer_3plane.py', '../_base_/datasets/shapenet_occupancy_boundary_3k.py',
    '../_base_/schedules/schedule_adam-constant_201e.py', '../_base_/default_runtime.py'
]

model = dict(loss=dict(type='MarginBCELoss', margin=2.0))
load_from = 'work_dirs/gridformer_3plane64_2xb16-stage1-1501e_shapenet-3k/epoch_1501.pth'
