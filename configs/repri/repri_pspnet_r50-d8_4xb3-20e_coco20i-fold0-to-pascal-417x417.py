# RePRI COCO -> PASCAL: PSPNet-R50 base-trained on COCO-20i fold 0 (the coco20i-fold0 config's training), tested on
# the PASCAL classes not among that fold's COCO base classes.
_base_ = ['../_base_/models/pspnet_r50-d8_repri.py', '../_base_/datasets/coco20i-to-pascal_417.py',
          '../_base_/schedules/schedule_sgd-nesterov-cosine_20e.py', '../_base_/default_runtime.py']
fold = 0
model = dict(decode_head=dict(num_classes=61))
train_dataloader = dict(dataset=dict(fold=fold))
test_dataloader = dict(dataset=dict(exclude_seen_from=dict(dataset='coco', fold=fold)))
