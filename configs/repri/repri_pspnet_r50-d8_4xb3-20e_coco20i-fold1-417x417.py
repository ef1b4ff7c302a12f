# RePRI, COCO-20i fold 1 (interleaved split: novel classes 2, 6, ..., 78): PSPNet-R50 on the 60
# base classes + background, 1-shot RePRI test.
_base_ = ['../_base_/models/pspnet_r50-d8_repri.py', '../_base_/datasets/coco20i_417.py',
          '../_base_/schedules/schedule_sgd-nesterov-cosine_20e.py', '../_base_/default_runtime.py']
fold = 1
model = dict(decode_head=dict(num_classes=61))
train_dataloader = dict(dataset=dict(fold=fold))
test_dataloader = dict(dataset=dict(fold=fold))
