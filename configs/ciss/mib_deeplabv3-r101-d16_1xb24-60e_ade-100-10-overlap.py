# MiB on ADE20K 100-10 (overlapped): MiB's VOC recipe with 60 epochs per step (METHODS.md B§6.4).
_base_ = [
    '../_base_/datasets/ciss_ade_512.py', '../_base_/models/deeplabv3_r101-d16_incremental.py',
    '../_base_/schedules/schedule_ciss-sgd-poly_30e.py', '../_base_/default_runtime.py'
]
runner_type = 'visionx.IncrementalRunner'
train_dataloader = dict(dataset=dict(task='100-10', setting='overlap'))
test_dataloader = dict(dataset=dict(task='100-10'))
max_epochs = 60
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs + 1)
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-6, begin=0, end=max_epochs, by_epoch=True,
                        convert_to_iter_based=True)]
model = dict(
    classes_per_step=[101],
    new_classifier_init='mib',
    loss_ce=dict(_delete_=True, type='UnbiasedCrossEntropyLoss', loss_name='loss_ce'),
    loss_kd=dict(_delete_=True, type='UnbiasedKDLoss', alpha=1.0, loss_weight=10.0, loss_name='loss_kd'))
ciss = dict(later_steps={'optim_wrapper.optimizer.lr': 0.001})
