# CPU demo on the synthetic brick walls (`python tools/data/make_demo_data.py --root data/demo`):
# a 5-level DynUNet (filters 8-64, 3 deep-supervision heads), 128x128 random crops, batch 4,
# 300 iterations, same optimiser family as TopoMortar.  A few minutes on 2 CPU cores.
_base_ = [
    '../_base_/models/dynunet-tiny_deep-supervision.py', '../_base_/datasets/topomortar_demo_128x128.py',
    '../_base_/schedules/schedule_sgd-poly-amp_12k.py', '../_base_/default_runtime.py'
]
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=300, by_epoch=False)]
train_cfg = dict(max_iters=300, val_interval=100)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=300, max_keep_ckpts=1))
