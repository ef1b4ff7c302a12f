# GridFormer (Li et al., AAAI 2024) for object-level ShapeNet: 3-plane (xz, xy, yz) 64^2 point-grid U-Net,
# c_dim 32, LocalDecoder with 5 blocks; plain BCE (margin 0) as in stage 1.  Meshes by sparse marching cubes
# at 256^3 with 10 refinement steps.
# (list17/GridFormer shapenet_3plane_attention_encoder)
model = dict(
    type='GridFormer',
    data_preprocessor=dict(type='BaseDataPreprocessor'),
    encoder=dict(plane_type=('xz', 'xy', 'yz'), resolution=64, c_dim=32, hidden_dim=32),
    decoder=dict(hidden_size=32, n_blocks=5),
    loss=dict(type='MarginBCELoss', margin=0.0),
    test_cfg=dict(points_batch_size=100000,
                  mesh=dict(method='sparse_mc', resolution=256, refine_iters=10, batch_points=50000)))
