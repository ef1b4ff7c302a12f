# RePRI, PASCAL-5i fold 1 with PSPNet-R101.
_base_ = ['./repri_pspnet_r50-d8_4xb3-100e_pascal5i-fold1-417x417.py']
model = dict(backbone=dict(depth=101))
