# CPU demo: TraCoCo on the synthetic LA-layout volumes (tools/data/make_demo_data.py), 4 labelled + 12
# unlabelled cases.  Differs from the paper: a V-Net with 4 base channels instead of 16, 32^3 crops instead
# of 112x112x80, 150 iterations, ramp-up over 80 iterations, sliding-window strides (8, 8, 8).
_base_ = ['./tracoco_vnet_1xb4-9k_la-8lab-112x112x80.py']

data_root = 'data/demo/tracoco'
patch_size = (32, 32, 32)
max_iters = 150

model = dict(
    backbone=dict(base_channels=4),
    unsup_weight=1.0,
    rampup_iters=40 * (4 // 2),
    test_cfg=dict(patch_size=patch_size, strides=(8, 8, 8), batch_size=8))
train_pipeline = [
    dict(type='LoadH5Volume'),
    dict(type='RandomRotFlip3D'),
    dict(type='MinMaxNormalize3D'),
    dict(type='RandomBrightness3D', scale_range=(0.75, 1.25)),
    dict(type='TranslatedViewCrop3D', patch_size=patch_size),
    dict(type='PackVolumeInputs'),
]
train_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, labeled_num=4, pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_begin=1, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
