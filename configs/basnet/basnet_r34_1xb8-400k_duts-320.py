# BASNet extended version (arXiv 2101.04704): the maintainers state that only the input resolution changed,
# 256 -> 320 (issue #55).  The training crop at 320 is not published; we use 288, the RescaleT(320) +
# RandomCrop(288) recipe of the same authors' U^2-Net (an assumption, see README).
_base_ = [
    '../_base_/models/basnet_r34.py', '../_base_/datasets/duts_320.py',
    '../_base_/schedules/schedule_adam_400k.py', '../_base_/default_runtime.py'
]
