# TopoMortar setup with the SkeletonRecallLoss (see cedice_dynunet_1xb10-12k_topomortar-512x512.py); the tubed
# skeletons are computed in the data-loader workers (TubedSkeleton, topomortar_skeleton_512x512.py).
_base_ = [
    '../_base_/models/dynunet_deep-supervision.py', '../_base_/datasets/topomortar_skeleton_512x512.py',
    '../_base_/schedules/schedule_sgd-poly-amp_12k.py', '../_base_/default_runtime.py'
]
model = dict(loss=dict(_delete_=True, type='SkeletonRecallLoss'))
