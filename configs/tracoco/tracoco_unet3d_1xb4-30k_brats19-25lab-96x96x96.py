# TraCoCo, 3D U-Net, BraTS19 with 25 labelled / 224 unlabelled cases (official shell script: 30k iters,
# unsup weight 1.0).  The official script validates on data/val.list, which was never committed; this
# config evaluates on test.list.
_base_ = [
    '../_base_/models/tracoco_unet3d.py', '../_base_/datasets/brats19_96x96x96.py',
    '../_base_/schedules/schedule_2xsgd-poly_9k.py', '../_base_/default_runtime.py'
]

max_iters = 30000

model = dict(
    trans_loss=dict(loss_weight=0.3), entropy_loss=dict(loss_weight=0.05), unsup_weight=1.0,
    rampup_iters=40 * (25 // 2), noise_range=0.05, noise_clamp=True,
    test_cfg=dict(patch_size=(96, 96, 96), strides=(16, 16, 16)))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters, by_epoch=False)]
# Official: validate every 50 iterations after iteration 500.
train_cfg = dict(max_iters=max_iters, val_begin=500, val_interval=50)
default_hooks = dict(checkpoint=dict(interval=5000))
