# HRNetV2p-W48 + FCN on ADE20K (teacher):
# 80k iterations, batch 2 x 4 GPUs, 512x512 crops (METHODS.md B 1.2).
_base_ = [
    '../_base_/models/fcn_hr18.py', '../_base_/datasets/ade20k_512x512.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://msra/hrnetv2_w48',
    backbone=dict(
        extra=dict(
            stage2=dict(num_channels=(48, 96)),
            stage3=dict(num_channels=(48, 96, 192)),
            stage4=dict(num_channels=(48, 96, 192, 384)))),
    decode_head=dict(in_channels=[48, 96, 192, 384], channels=sum([48, 96, 192, 384]), num_classes=150))
train_dataloader = dict(batch_size=2)
