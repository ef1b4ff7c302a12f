# Fine-tuning on VOC 15-1 (overlap): each step trains on its own labels with plain cross-entropy and no
# distillation (the lower bound of METHODS.md B§6.4), MiB's recipe otherwise (lr 0.01 / 0.001, 30 epochs).
_base_ = [
    '../_base_/datasets/ciss_voc_512.py', '../_base_/models/deeplabv3_r101-d16_incremental.py',
    '../_base_/schedules/schedule_ciss-sgd-poly_30e.py', '../_base_/default_runtime.py'
]
runner_type = 'visionx.IncrementalRunner'
train_dataloader = dict(dataset=dict(task='15-1', setting='overlap'))
test_dataloader = dict(dataset=dict(task='15-1'))
model = dict(classes_per_step=[16])
ciss = dict(later_steps={'optim_wrapper.optimizer.lr': 0.001})
