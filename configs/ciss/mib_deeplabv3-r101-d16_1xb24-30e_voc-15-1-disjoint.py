# MiB (Cermelli et al., CVPR 2020) on VOC 15-1 (disjoint): unbiased cross-entropy, unbiased knowledge
# distillation (weight 100 (100 for 15-1: fcdl94/MiB#22)) and the background-imprinting classifier init; lr 0.01 at
# step 0 and 0.001 later, 30 epochs per step, batch 24, full-image evaluation (METHODS.md B§6.4).
_base_ = [
    '../_base_/datasets/ciss_voc_512.py', '../_base_/models/deeplabv3_r101-d16_incremental.py',
    '../_base_/schedules/schedule_ciss-sgd-poly_30e.py', '../_base_/default_runtime.py'
]
runner_type = 'visionx.IncrementalRunner'
train_dataloader = dict(dataset=dict(task='15-1', setting='disjoint'))
test_dataloader = dict(dataset=dict(task='15-1'))
model = dict(
    classes_per_step=[16],
    new_classifier_init='mib',
    loss_ce=dict(_delete_=True, type='UnbiasedCrossEntropyLoss', loss_name='loss_ce'),
    loss_kd=dict(_delete_=True, type='UnbiasedKDLoss', alpha=1.0, loss_weight=100.0, loss_name='loss_kd'))
ciss = dict(later_steps={'optim_wrapper.optimizer.lr': 0.001})
