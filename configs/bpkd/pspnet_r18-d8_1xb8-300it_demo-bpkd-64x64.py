# BPKD CPU demo, teacher: PSPNet on a half-width ResNet-18-D8 (base 32 channels, no pretraining), 5 classes,
# 64x64 scenes (half width keeps the demo within minutes on 2 CPU cores).
_base_ = [
    '../_base_/models/pspnet_r50-d8.py', '../_base_/datasets/bpkd_demo_64x64.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_sgd-poly_300it.py'
]
crop_size = (64, 64)
data_preprocessor = dict(size=crop_size)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(depth=18, stem_channels=32, base_channels=32, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=256, channels=64, num_classes=5, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=128, channels=32, num_classes=5, norm_cfg=norm_cfg))
