# GridFormer stage 1 on ShapeNet (ONet layout, 13 classes): 3-plane 64^2 point-grid U-Net, 3000 noisy input
# points (sigma 0.005), 2048 uniform queries, plain BCE (margin 0) summed over points, batch 32 (paper: 2 GPUs
# with DataParallel -> 2 x 16 here), Adam 1e-4, cosine T_max 1500 epochs to 1e-8, 1501 epochs, validation IoU
# at 0.2 every 10 epochs with best-checkpoint selection.  (list17/GridFormer shapenet_3plane_attention_encoder)
_base_ = [
    '../_base_/models/gridformer_3plane.py', '../_base_/datasets/shapenet_occupancy_3k.py',
    '../_base_/schedules/schedule_adam-cosine_1501e.py', '../_base_/default_runtime.py'
]
