# HRNetV2p-W48 + FCN on Pascal-Context-59 (teacher):
# 80k iterations, batch 4 x 4 GPUs, 480x480 crops (METHODS.md B 1.2).
_base_ = [
    '../_base_/models/fcn_hr18.py', '../_base_/datasets/pascal_context_59_480x480.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (480, 480)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://msra/hrnetv2_w48',
    backbone=dict(
        extra=dict(
            stage2=dict(num_channels=(48, 96)),
            stage3=dict(num_channels=(48, 96, 192)),
            stage4=dict(num_channels=(48, 96, 192, 384)))),
    decode_head=dict(in_channels=[48, 96, 192, 384], channels=sum([48, 96, 192, 384]), num_classes=59),
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(320, 320)))
# mmseg's Pascal-Context schedule: SGD lr 0.004, weight decay 1e-4 (BPKD's student configs too).
optimizer = dict(type='SGD', lr=0.004, momentum=0.9, weight_decay=0.0001)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
