# TraCoCo, 3D U-Net, BraTS19 with 25 labelled / 224 unlabelled cases (official shell script: 30k iters,
# unsup weight 1.0).  The official script validates on data/val.list, which was never committed; this
# config evaluates on test.list.
_base_ = ['./tracoco_vnet_1xb4-9k_la-8lab-112x112x80.py']

data_root = 'data/BraTS19'
patch_size = (96, 96, 96)
max_iters = 30000

model = dict(
    backbone=dict(_delete_=True, type='MedicalUNet3D', in_channels=1, num_classes=2, base_channels=16,
                  norm='instance', dropout=0.3),
    trans_loss=dict(loss_weight=0.3), entropy_loss=dict(loss_weight=0.05), unsup_weight=1.0, rampup_iters=40 * (25 // 2),
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
    dataset=dict(type='BraTS19H5Dataset', data_root=data_root, labeled_num=25, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type='BraTS19H5Dataset', data_root=data_root, split_file='test.list'))
test_dataloader = val_dataloader
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters, by_epoch=False)]
# Official: validate every 50 iterations after iteration 500.
train_cfg = dict(max_iters=max_iters, val_begin=500, val_interval=50)
default_hooks = dict(checkpoint=dict(interval=5000))
