# BACS on VOC 19-1 (disjoint): the 19 base classes, then 1; the token transformer decoder (class tokens + mask_norm, new tokens from the mean).  Step 0: lr 0.01; later steps lr 0.001
# (official lr_next); 30 epochs per step, batch 24 on one process (official: 12 x 2 GPUs), 512 crops
# (METHODS.md B§5.3).  Paper numbers: not retrievable (METHODS.md B§5.5).
_base_ = [
    '../_base_/datasets/ciss_voc_512-crop.py', '../_base_/models/bacs-transformer_r101-d16.py',
    '../_base_/schedules/schedule_ciss-bacs-sgd-poly-amp_30e.py', '../_base_/default_runtime.py'
]
runner_type = 'visionx.IncrementalRunner'
train_dataloader = dict(dataset=dict(task='19-1', setting='disjoint'))
test_dataloader = dict(dataset=dict(task='19-1'))
model = dict(classes_per_step=[20])
ciss = dict(later_steps={'optim_wrapper.optimizer.lr': 0.001})
