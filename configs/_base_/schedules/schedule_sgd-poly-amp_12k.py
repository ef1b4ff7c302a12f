# TopoMortar's schedule: SGD 0.01 (momentum 0.99, Nesterov, wd 3e-5), gradient clipping at 12, poly decay,
# 12k iterations, validation every 1200.  Mixed precision as TopoMortar: AutoAmpOptimWrapper trains with AMP
# on a GPU and in fp32 on CPU.
optim_wrapper = dict(
    type='AutoAmpOptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.99, nesterov=True, weight_decay=3e-5),
    clip_grad=dict(max_norm=12))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=12000, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=12000, val_interval=1200)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # TopoMortar tests the last iteration's model (no best-checkpoint selection).
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1200, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# Tells the losses whose topology term starts late (WarpingLoss, PersistentHomologyLoss: after 70 % of the
# iterations) how far training is; the other losses ignore it.
custom_hooks = [dict(type='TopologyLossScheduleHook')]
randomness = dict(seed=42)
