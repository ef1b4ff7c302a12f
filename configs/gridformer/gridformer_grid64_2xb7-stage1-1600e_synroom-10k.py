# GridFormer stage 1 on ConvONet's Synthetic Indoor Scenes: volume 64^3 point-grid U-Net (10.22 M params),
# 10,000 noisy inputs from one of 10 pointcloud_XX.npz files, 2048 queries from points_iou_XX.npz, batch 14
# (2 x 7), Adam 1e-4, cosine T_max 1500 epochs (the official T_max stays 1500 for 1600 epochs, so the LR
# rises again after epoch 1500; reproduced here), validation every 5 epochs. (room_grid_attention_encoder)
_base_ = [
    '../_base_/models/gridformer_grid.py', '../_base_/datasets/synthetic_rooms_10k.py',
    '../_base_/schedules/schedule_adam-cosine_1501e.py', '../_base_/default_runtime.py'
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1600, val_interval=5)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=1500, eta_min=1e-8, by_epoch=True, end=1600)]
