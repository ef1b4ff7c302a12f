# clDice on the CPU demo (same model, data and schedule as the CE+Dice demo config).
_base_ = ['./cedice_dynunet-tiny_1xb4-300it_topomortar-demo-128x128.py']
model = dict(loss=dict(_delete_=True, type='clDiceLoss'))
