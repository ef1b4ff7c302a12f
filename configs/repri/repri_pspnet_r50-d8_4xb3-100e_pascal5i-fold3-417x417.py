# RePRI, PASCAL-5i fold 3 (novel classes 16-20): base training of PSPNet-R50, 1-shot RePRI test.
_base_ = ['../_base_/models/pspnet_r50-d8_repri.py', '../_base_/datasets/pascal5i_417.py',
          '../_base_/schedules/schedule_sgd-nesterov-cosine_100e.py', '../_base_/default_runtime.py']
fold = 3
train_dataloader = dict(dataset=dict(fold=fold))
test_dataloader = dict(dataset=dict(fold=fold))
