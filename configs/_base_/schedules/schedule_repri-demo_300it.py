# RePRI CPU demo: the official optimiser (SGD Nesterov, momentum 0.9, wd 1e-4, cosine to 1e-6) with a larger
# lr (0.01: the tiny network starts from scratch, not from ImageNet weights) for 300 iterations.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4,
                                                         nesterov=True))
max_iters = 300
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-6, by_epoch=False, begin=0,
                        end=max_iters)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
