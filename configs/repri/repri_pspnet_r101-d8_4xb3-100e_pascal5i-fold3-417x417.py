# RePRI, PASCAL-5i fold 3 with PSPNet-R101.
_base_ = ['./repri_pspnet_r50-d8_4xb3-100e_pascal5i-fold3-417x417.py']
model = dict(backbone=dict(depth=101))
