# TopoMortar setup with the cbDiceLoss (see cedice_dynunet_1xb10-12k_topomortar-512x512.py).
_base_ = ['./cedice_dynunet_1xb10-12k_topomortar-512x512.py']
model = dict(loss=dict(_delete_=True, type='cbDiceLoss'))
