# TopoMortar setup with the PersistentHomologyLoss (see cedice_dynunet_1xb10-12k_topomortar-512x512.py).
# Needs gudhi (requirements/runtime.txt). The persistent-homology term (lambda 100, 50-px patches)
# switches on after 70 % of the iterations (the loss's start_fraction=0.7; the schedule hook publishes progress).
_base_ = ['./cedice_dynunet_1xb10-12k_topomortar-512x512.py']
model = dict(loss=dict(_delete_=True, type='PersistentHomologyLoss'))
