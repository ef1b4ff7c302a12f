# GridFormer stage 1: Adam 1e-4, cosine T_max 1500 epochs to 1e-8, 1501 epochs, validation every 10 epochs
# with best-checkpoint selection on the validation IoU.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1501, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=1500, eta_min=1e-8, by_epoch=True, end=1500)]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=2, max_keep_ckpts=5, save_best='occ/iou', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'))
