# DeepLabV3+-MobileNetV2-D8 on ADE20K (student baseline):
# 80k iterations, batch 2 x 4 GPUs, 512x512 crops (METHODS.md B 1.2).
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d8.py', '../_base_/datasets/ade20k_512x512.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='mmcls://mobilenet_v2',
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.,
        strides=(1, 2, 2, 1, 1, 1, 1),
        dilations=(1, 1, 1, 2, 2, 4, 4),
        out_indices=(1, 2, 4, 6),
        norm_cfg=norm_cfg),
    decode_head=dict(in_channels=320, c1_in_channels=24, channels=512, num_classes=150),
    auxiliary_head=dict(in_channels=96, channels=256, num_classes=150))
train_dataloader = dict(batch_size=2)
