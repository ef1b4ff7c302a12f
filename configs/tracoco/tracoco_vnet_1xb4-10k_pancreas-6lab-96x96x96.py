# TraCoCo, V-Net, Pancreas-CT with 6 labelled / 56 unlabelled cases (official shell script: 10k iters,
# unsup weight 0.3; docs/before_start.md says 7k -- see README).
_base_ = [
    '../_base_/models/tracoco_vnet.py', '../_base_/datasets/pancreas_96x96x96.py',
    '../_base_/schedules/schedule_2xsgd-poly_9k.py', '../_base_/default_runtime.py'
]

max_iters = 10000

model = dict(
    trans_loss=dict(loss_weight=1.0), entropy_loss=dict(loss_weight=0.1), unsup_weight=0.3,
    rampup_iters=40 * (6 // 2), noise_range=0.05, noise_clamp=True,
    test_cfg=dict(patch_size=(96, 96, 96), strides=(16, 16, 16)))
optim_wrapper = dict(
    net1=dict(optimizer=dict(lr=0.025)),
    net2=dict(optimizer=dict(lr=0.025)))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_begin=500, val_interval=500)
