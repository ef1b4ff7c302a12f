# GridFormer stage 1 on ConvONet's Synthetic Indoor Scenes: volume 64^3 point-grid U-Net (10.22 M params),
# 10,000 noisy inputs from one of 10 pointcloud_XX.npz files, 2048 queries from points_iou_XX.npz, batch 14
# (2 x 7), Adam 1e-4, cosine T_max 1500 epochs (the official T_max stays 1500 for 1600 epochs, so the LR
# rises again after epoch 1500; reproduced here), validation every 5 epochs. (room_grid_attention_encoder)
_base_ = ['./gridformer_3plane64_2xb16-stage1-1501e_shapenet-3k.py']

data_root = 'data/synthetic_room_dataset'
dataset_type = 'SyntheticRoomsDataset'
rooms = ['rooms_04', 'rooms_05', 'rooms_06', 'rooms_07', 'rooms_08']

model = dict(encoder=dict(plane_type=('grid',), resolution=64, c_dim=32, hidden_dim=32))
train_pipeline = [
    dict(type='SubsamplePointcloud', num_points=10000),
    dict(type='PointcloudNoise', stddev=0.005),
    dict(type='SubsamplePoints', num_points=2048),
    dict(type='PackOccupancyInputs'),
]
val_pipeline = [
    dict(type='SubsamplePointcloud', num_points=10000),
    dict(type='PointcloudNoise', stddev=0.005),
    dict(type='PackOccupancyInputs'),
]
test_pipeline = [
    dict(type='SubsamplePointcloud', num_points=10000),
    dict(type='PointcloudNoise', stddev=0.005),
    dict(type='PackOccupancyInputs', generate_mesh=True),
]
train_dataloader = dict(
    batch_size=7,
    dataset=dict(type=dataset_type, data_root=data_root, classes=rooms, multi_files=10,
                 pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, classes=rooms, multi_files=10,
                                   pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, classes=rooms, multi_files=10,
                                    pipeline=test_pipeline))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1600, val_interval=5)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=1500, eta_min=1e-8, by_epoch=True, end=1600)]
