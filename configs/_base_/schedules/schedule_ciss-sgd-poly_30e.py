# MiB's schedule (METHODS.md B§6.4): SGD momentum 0.9, weight decay 1e-4, lr 0.01 at step 0 (0.001 at later
# steps, set by the method config's ciss.later_steps), poly decay (power 0.9) per iteration, 30 epochs per
# step (ADE: 60), a checkpoint at the end of every step (the next step starts from it).
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
max_epochs = 30
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-6, begin=0, end=max_epochs, by_epoch=True,
                        convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs + 1)
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=5, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# A fixed seed: MMEngine builds the sampler before a resume restores the checkpoint's seed, so a resumed
# step replays the same batches only when the seed is set here.
randomness = dict(seed=0)
