# TopoMortar setup (Valverde et al., BMVC 2025): MONAI DynUNet with 6 deep-supervision heads, full
# 512x512 images, batch 10, SGD 0.01 (momentum 0.99, Nesterov, wd 3e-5), poly, 12k iterations, mixed
# precision.  The other loss configs of this folder inherit from this one and change only `model.loss`.
_base_ = [
    '../_base_/models/dynunet_deep-supervision.py', '../_base_/datasets/topomortar_512x512.py',
    '../_base_/schedules/schedule_sgd-poly-amp_12k.py', '../_base_/default_runtime.py'
]
