# clDice under TopoMortar's RandHue framework (SC6).
_base_ = ['./cedice_dynunet_1xb10-12k_topomortar-randhue-512x512.py']
model = dict(loss=dict(_delete_=True, type='clDiceLoss'))
