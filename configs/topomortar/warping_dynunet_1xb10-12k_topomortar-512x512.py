# TopoMortar setup with the WarpingLoss (see cedice_dynunet_1xb10-12k_topomortar-512x512.py).
# The warping term (lambda 0.1) switches on after 70 % of the iterations (the loss's start_fraction=0.7;
# the schedule hook publishes progress).
_base_ = ['./cedice_dynunet_1xb10-12k_topomortar-512x512.py']
model = dict(loss=dict(_delete_=True, type='WarpingLoss'))
