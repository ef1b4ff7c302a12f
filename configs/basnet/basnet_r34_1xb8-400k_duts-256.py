# BASNet (CVPR 2019), official schedule: DUTS-TR (flip-augmented offline), RescaleT(256) + RandomCrop(224),
# Adam 1e-3 constant, batch 8, ~400k iterations; test at 256x256 on six SOD test sets, maps resized back to
# the original size.  See configs/basnet/README.md.
_base_ = [
    '../_base_/models/basnet_r34.py', '../_base_/datasets/duts_256.py',
    '../_base_/schedules/schedule_adam_400k.py', '../_base_/default_runtime.py'
]
