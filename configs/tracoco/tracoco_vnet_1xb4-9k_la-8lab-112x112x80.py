# TraCoCo, V-Net, LA with 8 labelled / 72 unlabelled cases (official scripts/train_la.sh, Configs/config.py).
_base_ = ['../_base_/default_runtime.py']

data_root = 'data/LA'
patch_size = (112, 112, 80)
max_iters = 9000

model = dict(
    type='TraCoCo',
    backbone=dict(type='VNet', in_channels=1, num_classes=2, base_channels=16, norm='batch', has_dropout=True),
    num_classes=2,
    sup_loss=dict(type='TraCoCoSupLoss'),
    cbc_loss=dict(type='CBCLoss', tau_pos=0.65, tau_neg=0.1),
    # spatial_weight = 0.3; official quirk: clamp raw logits to [1e-6, 1] before the softmax (both overlap terms)
    trans_loss=dict(type='TranslationConsistencyLoss', loss_weight=0.3, reduction='sum', clamp_logits=True),
    entropy_loss=dict(type='OverlapNegEntropyLoss', loss_weight=0.1, clamp_logits=True),  # hyp = 0.1
    unsup_weight=0.3,           # 8 labelled -> 0.3; 16 / 32 labelled -> 1.0
    rampup_iters=40 * (8 // 2),  # 40 "epochs" of labeled_num // 2 iterations
    noise_range=0.2,
    noise_clamp=False,
    cutmix_beta=4.0,
    cutmix_full_depth=True,     # official quirk: the CutMix box spans the whole depth
    test_cfg=dict(patch_size=patch_size, strides=(18, 18, 4), batch_size=4, eval_nets=('net1', 'net2'),
                  output='net1', post_min_size=None, keep_largest=False),
    data_preprocessor=dict(type='VolumeDataPreprocessor'))

train_pipeline = [
    dict(type='LoadH5Volume'),
    dict(type='RandomRotFlip3D'),
    dict(type='MinMaxNormalize3D'),
    dict(type='RandomBrightness3D', scale_range=(0.75, 1.25)),
    dict(type='TranslatedViewCrop3D', patch_size=patch_size),
    dict(type='PackVolumeInputs'),
]
test_pipeline = [
    dict(type='LoadH5Volume'),
    dict(type='MinMaxNormalize3D'),
    dict(type='PackVolumeInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='TwoStreamBatchSampler', labeled_batch_size=2),
    dataset=dict(type='LAHeartDataset', data_root=data_root, split_file='train.list', labeled_num=8,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='LAHeartDataset', data_root=data_root, split_file='eval.list', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='MedicalSegMetric')
test_evaluator = val_evaluator

# Two networks, two SGD optimizers (an OptimWrapperDict); the same poly schedule drives both.
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
# Distributed runs: wrap each network separately so that TraCoCo's own train_step drives both optimizers.
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=False)
