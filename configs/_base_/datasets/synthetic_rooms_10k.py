# ConvONet's Synthetic Indoor Scenes (rooms_04 .. rooms_08), in the ONet layout of shapenet_occupancy_3k.py:
# 10,000 noisy inputs from one of 10 pointcloud_XX.npz files, 2048 queries from points_iou_XX.npz,
# batch 14 (2 x 7).
_base_ = ['./shapenet_occupancy_3k.py']
data_root = 'data/synthetic_room_dataset'
dataset_type = 'SyntheticRoomsDataset'
rooms = ['rooms_04', 'rooms_05', 'rooms_06', 'rooms_07', 'rooms_08']

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
# the rooms protocol: crop the predicted surface to the GT scene's extent (no walls beyond it), METHODS.md 1.8
test_evaluator = dict(type='MeshReconstructionMetric', n_points=100000, f_thresholds=(0.01, 0.015, 0.02),
                      remove_wall=True)
