# ISANet-R18-D8 on Cityscapes (student baseline):
# 80k iterations, batch 2 x 4 GPUs, 512x1024 crops (METHODS.md B 1.2).
_base_ = [
    '../_base_/models/isanet_r50-d8.py', '../_base_/datasets/cityscapes_512x1024.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128, num_classes=19),
    auxiliary_head=dict(in_channels=256, channels=64, num_classes=19))
