# TopoMortar setup with the TOPO loss (Oner et al., TPAMI 2021; see
# cedice_dynunet_1xb10-12k_topomortar-512x512.py).  TOPO regresses a distance map: the DynUNet has ONE
# output channel and a pixel is mortar where the output exceeds 1e-5.  The loss (alpha 1e-3 MSE to
# min(EDT, 20) + MALIS separation on 64-px windows) has no schedule and acts on all 7 outputs.
_base_ = ['./cedice_dynunet_1xb10-12k_topomortar-512x512.py']
model = dict(
    binary_threshold=1e-5,
    network=dict(out_channels=1),
    loss=dict(_delete_=True, type='ConnectivityMALISLoss'))
