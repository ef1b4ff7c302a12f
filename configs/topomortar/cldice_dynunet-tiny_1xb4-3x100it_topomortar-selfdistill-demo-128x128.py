# CPU demo of the self-distillation framework on the synthetic walls
# (`python tools/data/make_demo_data.py --root data/demo`): the clDice demo model and data of
# cldice_dynunet-tiny_1xb4-300it_topomortar-demo-128x128.py, trained in 3 rounds x 100 iterations (the same
# 300-iteration budget) with soft labels from round 2 on.  Accurate labels by default, for comparison with the
# plain demo; --cfg-options train_dataloader.dataset.label_type=pseudo val_dataloader.dataset.label_type=pseudo
# (or noisy) gives the SC8 / SC9 setting.
_base_ = ['./cldice_dynunet-tiny_1xb4-300it_topomortar-demo-128x128.py']

rounds = 3
iters_per_round = 100

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadSoftLabels'),
    dict(type='ZScoreNormalize'),
    dict(type='TopoMortarAugment'),
    dict(type='RandomCrop', crop_size=(128, 128)),
    dict(type='PackTopoMortarInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=iters_per_round, by_epoch=False)]
train_cfg = dict(_delete_=True, type='SelfDistillationLoop', rounds=rounds, iters_per_round=iters_per_round,
                 val_interval=100, official_scheduler=False)
default_hooks = dict(checkpoint=dict(interval=100, max_keep_ckpts=1))
