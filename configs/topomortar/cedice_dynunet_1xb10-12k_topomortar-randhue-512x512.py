# TopoMortar's RandHue framework: RandHue (p 0.5) appended to the training augmentations.
_base_ = [
    '../_base_/models/dynunet_deep-supervision.py', '../_base_/datasets/topomortar_randhue_512x512.py',
    '../_base_/schedules/schedule_sgd-poly-amp_12k.py', '../_base_/default_runtime.py'
]
