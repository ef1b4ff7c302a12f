# CPU demo on the synthetic brick walls (`python tools/data/make_demo_data.py --root data/demo`):
# a 5-level DynUNet (filters 8-64, 3 deep-supervision heads), 128x128 random crops, batch 4,
# 300 iterations, same optimiser family as TopoMortar.  A few minutes on 2 CPU cores.
_base_ = ['./cedice_dynunet_1xb10-12k_topomortar-512x512.py']
data_root = 'data/demo/topomortar'
model = dict(data_preprocessor=dict(size_divisor=16),
             network=dict(num_levels=5, filters=[8, 16, 32, 64, 64], deep_supr_num=3))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='ZScoreNormalize'),
    dict(type='TopoMortarAugment'),
    dict(type='RandomCrop', crop_size=(128, 128)),
    dict(type='PackTopoMortarInputs'),
]
train_dataloader = dict(batch_size=4, num_workers=1, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=300, by_epoch=False)]
train_cfg = dict(max_iters=300, val_interval=100)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=300, max_keep_ckpts=1))
