# RePRI, PASCAL-5i fold 0 (novel classes 1-5): base training of PSPNet-R50, 1-shot RePRI test.
_base_ = ['../_base_/models/pspnet_r50-d8_repri.py', '../_base_/datasets/pascal5i_417.py',
          '../_base_/schedules/schedule_sgd-nesterov-cosine_100e.py', '../_base_/default_runtime.py']
fold = 0
train_dataloader = dict(dataset=dict(fold=fold))
test_dataloader = dict(dataset=dict(fold=fold))
