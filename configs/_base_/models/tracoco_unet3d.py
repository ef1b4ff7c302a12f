# TraCoCo with the 3D U-Net of the BraTS19 experiments (instance norm, dropout 0.3) instead of the V-Net.
_base_ = ['./tracoco_vnet.py']
model = dict(
    backbone=dict(_delete_=True, type='MedicalUNet3D', in_channels=1, num_classes=2, base_channels=16,
                  norm='instance', dropout=0.3))
