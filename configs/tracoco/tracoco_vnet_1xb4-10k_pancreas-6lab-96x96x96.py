# TraCoCo, V-Net, Pancreas-CT with 6 labelled / 56 unlabelled cases (official shell script: 10k iters,
# unsup weight 0.3; docs/before_start.md says 7k -- see README).
_base_ = ['./tracoco_vnet_1xb4-9k_la-8lab-112x112x80.py']

data_root = 'data/Pancreas'
patch_size = (96, 96, 96)
max_iters = 10000

model = dict(
    trans_loss=dict(loss_weight=1.0), entropy_loss=dict(loss_weight=0.1), unsup_weight=0.3, rampup_iters=40 * (6 // 2),
    noise_range=0.05, noise_clamp=True,
    test_cfg=dict(patch_size=patch_size, strides=(16, 16, 16)))
train_pipeline = [
    dict(type='LoadH5Volume'),
    dict(type='RandomRotFlip3D'),
    dict(type='MinMaxNormalize3D'),
    dict(type='RandomBrightness3D', scale_range=(0.75, 1.25)),
    dict(type='TranslatedViewCrop3D', patch_size=patch_size),
    dict(type='PackVolumeInputs'),
]
train_dataloader = dict(
    dataset=dict(type='PancreasH5Dataset', data_root=data_root, labeled_num=6, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type='PancreasH5Dataset', data_root=data_root))
test_dataloader = val_dataloader
optim_wrapper = dict(
    net1=dict(optimizer=dict(lr=0.025)),
    net2=dict(optimizer=dict(lr=0.025)))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_begin=500, val_interval=500)
