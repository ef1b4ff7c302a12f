# PSPNet-R101-D8 on Cityscapes (teacher):
# 80k iterations, batch 2 x 4 GPUs, 512x1024 crops (METHODS.md B 1.2).
_base_ = [
    '../_base_/models/pspnet_r50-d8.py', '../_base_/datasets/cityscapes_512x1024.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19))
