# BASNet's official schedule: Adam 1e-3 constant, ~400k iterations (maintainer, issue #46), no validation
# during training, a checkpoint every 2000 iterations.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0))
param_scheduler = []  # constant learning rate, as the official training script
train_cfg = dict(type='IterBasedTrainLoop', max_iters=400000)
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000, max_keep_ckpts=10),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
