# clDice on the mmseg UNet + FCN head (the loss plugs into any mmseg decode head).
_base_ = ['./cedice_unet-s5-d16_fcn_1xb10-12k_topomortar-512x512.py']
model = dict(decode_head=dict(loss_decode=dict(_delete_=True, type='clDiceLoss')))
