# CPU demo of the self-distillation framework on the synthetic walls
# (`python tools/data/make_demo_data.py --root data/demo`): the clDice demo model and data of
# cldice_dynunet-tiny_1xb4-300it_topomortar-demo-128x128.py, trained in 3 rounds x 100 iterations (the same
# 300-iteration budget) with soft labels from round 2 on.  Accurate labels by default, for comparison with the
# plain demo; --cfg-options train_dataloader.dataset.label_type=pseudo val_dataloader.dataset.label_type=pseudo
# (or noisy) gives the SC8 / SC9 setting.
_base_ = [
    '../_base_/models/dynunet-tiny_deep-supervision.py', '../_base_/datasets/topomortar_softlabels_demo_128x128.py',
    '../_base_/schedules/schedule_sgd-poly-amp_12k.py', '../_base_/default_runtime.py'
]

rounds = 3
iters_per_round = 100

model = dict(loss=dict(_delete_=True, type='clDiceLoss'))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=iters_per_round, by_epoch=False)]
train_cfg = dict(_delete_=True, type='SelfDistillationLoop', rounds=rounds, iters_per_round=iters_per_round,
                 val_interval=100, official_scheduler=False)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=100, max_keep_ckpts=1))
