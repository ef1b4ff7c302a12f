# CPU demo: TraCoCo on the synthetic LA-layout volumes (tools/data/make_demo_data.py), 4 labelled + 12
# unlabelled cases.  Differs from the paper: a V-Net with 4 base channels instead of 16, 32^3 crops instead
# of 112x112x80, 150 iterations, ramp-up over 80 iterations, sliding-window strides (8, 8, 8).
_base_ = [
    '../_base_/models/tracoco_vnet.py', '../_base_/datasets/la_demo_32x32x32.py',
    '../_base_/schedules/schedule_2xsgd-poly_9k.py', '../_base_/default_runtime.py'
]

max_iters = 150

model = dict(
    backbone=dict(base_channels=4),
    unsup_weight=1.0,
    rampup_iters=40 * (4 // 2),
    test_cfg=dict(patch_size=(32, 32, 32), strides=(8, 8, 8), batch_size=8))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_begin=1, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
