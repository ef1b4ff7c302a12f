# MiB (Cermelli et al., CVPR 2020) on VOC 19-1 (overlap): unbiased cross-entropy, unbiased knowledge
# distillation (weight 10) and the background-imprinting classifier init; lr 0.01 at
# step 0 and 0.001 later, 30 epochs per step, batch 24, full-image evaluation (METHODS.md B§6.4).
_base_ = [
    '../_base_/datasets/ciss_voc_512.py', '../_base_/models/deeplabv3_r101-d16_incremental.py',
    '../_base_/schedules/schedule_ciss-sgd-poly_30e.py', '../_base_/default_runtime.py'
]
runner_type = 'visionx.IncrementalRunner'
train_dataloader = dict(dataset=dict(task='19-1', setting='overlap'))
test_dataloader = dict(dataset=dict(task='19-1'))
model = dict(
    classes_per_step=[20],
    new_classifier_init='mib',
    loss_ce=dict(_delete_=True, type='UnbiasedCrossEntropyLoss', loss_name='loss_ce'),
    loss_kd=dict(_delete_=True, type='UnbiasedKDLoss', alpha=1.0, loss_weight=10.0, loss_name='loss_kd'))
ciss = dict(later_steps={'optim_wrapper.optimizer.lr': 0.001})
