# BARM's step-0 schedule (METHODS.md B§4.3): SGD momentum 0.9, Nesterov, weight decay 1e-4, mixed precision
# (AutoAmpOptimWrapper: AMP on a GPU, fp32 on CPU), backbone lr 1e-3 and ASPP + heads 1e-2, poly decay (power
# 0.9, min 1e-6) per iteration over 50 epochs.  The method configs' ciss.later_steps set the later steps'
# epochs and per-group learning rates.
optim_wrapper = dict(
    type='AutoAmpOptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
max_epochs = 50
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-6, begin=0, end=max_epochs, by_epoch=True,
                        convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs + 1)
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=10, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# A fixed seed: MMEngine builds the sampler before a resume restores the checkpoint's seed.
randomness = dict(seed=0)
