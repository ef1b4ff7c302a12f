# BACS on VOC 15-5 (disjoint): the 15 base classes, then 5; the MiB-style multi-head DeepLabV3 classifier.  Step 0: lr 0.01; later steps lr 0.001
# (official lr_next); 30 epochs per step, batch 24 on one process (official: 12 x 2 GPUs), 512 crops
# (METHODS.md B§5.3).  Paper numbers: not retrievable (METHODS.md B§5.5).
_base_ = [
    '../_base_/datasets/ciss_voc_512-crop.py', '../_base_/models/bacs_deeplabv3_r101-d16.py',
    '../_base_/schedules/schedule_ciss-bacs-sgd-poly-amp_30e.py', '../_base_/default_runtime.py'
]
runner_type = 'visionx.IncrementalRunner'
train_dataloader = dict(dataset=dict(task='15-5', setting='disjoint'))
test_dataloader = dict(dataset=dict(task='15-5'))
model = dict(classes_per_step=[16])
ciss = dict(later_steps={'optim_wrapper.optimizer.lr': 0.001})
