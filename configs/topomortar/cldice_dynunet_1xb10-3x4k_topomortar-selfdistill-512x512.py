# Self-distillation (SC8 / SC9) with the clDiceLoss; see cedice_dynunet_1xb10-3x4k_topomortar-selfdistill-512x512.py.
_base_ = ['./cedice_dynunet_1xb10-3x4k_topomortar-selfdistill-512x512.py']
model = dict(loss=dict(_delete_=True, type='clDiceLoss'))
