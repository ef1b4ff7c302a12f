# The CISS CPU demo schedule: SGD 0.01 (momentum 0.9, wd 1e-4), poly decay, 300 iterations per step.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
max_iters = 300
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-4, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters + 1)
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
# A fixed seed: MMEngine builds the sampler before a resume restores the checkpoint's seed, so a resumed
# step replays the same batches only when the seed is set here.
randomness = dict(seed=0)
