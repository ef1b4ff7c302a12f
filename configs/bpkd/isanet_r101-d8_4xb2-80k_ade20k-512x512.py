# ISANet-R101-D8 on ADE20K (teacher):
# 80k iterations, batch 2 x 4 GPUs, 512x512 crops (METHODS.md B 1.2).
_base_ = [
    '../_base_/models/isanet_r50-d8.py', '../_base_/datasets/ade20k_512x512.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150))
train_dataloader = dict(batch_size=2)
