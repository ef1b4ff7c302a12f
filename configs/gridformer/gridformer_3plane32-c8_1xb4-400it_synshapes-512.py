# GridFormer CPU demo, stage 1, on the synthetic shapes (tools/data/make_demo_data.py -> data/demo/gridformer).
# Much smaller than the paper (3-plane 64^2, c_dim 32, 3000 inputs, 2048 queries, batch 32, 1501 epochs):
# planes 32^2, c_dim 8 (272k parameters), 512 noisy inputs, 512 queries, batch 4, 400 iterations with Adam
# 1e-3 (paper 1e-4) and cosine decay; validation IoU at 0.2 every 200 iterations; meshing at 64^3 for tests.
_base_ = [
    '../_base_/models/gridformer_3plane.py', '../_base_/datasets/synshapes_512.py',
    '../_base_/schedules/schedule_adam-cosine_400it.py', '../_base_/default_runtime.py'
]

model = dict(
    encoder=dict(resolution=32, c_dim=8, hidden_dim=8),
    decoder=dict(hidden_size=8),
    test_cfg=dict(points_batch_size=50000, mesh=dict(resolution=64, refine_iters=3)))
randomness = dict(seed=0)
