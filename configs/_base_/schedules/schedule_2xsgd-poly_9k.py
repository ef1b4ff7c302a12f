# TraCoCo's LA schedule: two networks, two SGD optimizers (lr 0.05, momentum 0.9, wd 1e-4; an
# OptimWrapperDict), the same poly schedule drives both, 9k iterations.
max_iters = 9000
optim_wrapper = dict(
    constructor='CoTrainingOptimWrapperConstructor',
    net1=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)),
    net2=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters, by_epoch=False)]
# Official: both networks validated every 25 epochs (= 100 iterations) after iteration 800.
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_begin=800, val_interval=100)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=2,
                    save_best='net1/dice', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'))
randomness = dict(seed=1337)
