# CPU demo of BASNet on the synthetic DUTS-style data (python tools/data/make_demo_data.py writes
# data/demo/basnet).  Same network (87,060,360 parameters), loss, optimiser and data flow as the paper
# config; differences, all for a short run on 2 CPU cores: 56x56 resize + 48x48 crop (paper:
# 256 + 224), batch 4 (paper: 8), 200 iterations (paper: ~400k), no ImageNet initialisation, and a
# held-out evaluation on the synthetic DUTS-TE split at the end.
_base_ = ['./basnet_r34_1xb8-400k_duts-256.py']

crop_size = (48, 48)
test_size = (56, 56)
data_root = 'data/demo/basnet'
model = dict(
    # 48 is not a multiple of 32: pad training batches to exactly the crop size (i.e. never)
    data_preprocessor=dict(size=crop_size, size_divisor=None),
    encoder=dict(init_cfg=None))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadSalientMask'),
    dict(type='Resize', scale=test_size, keep_ratio=False),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='NormalizeByMax'),
    dict(type='PackSalientInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=test_size, keep_ratio=False),
    dict(type='NormalizeByMax'),
    dict(type='LoadSalientMask'),
    dict(type='PackSalientInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='SalientDataset',
        dataset_name='synth-DUTS-TR',
        data_root=data_root,
        data_prefix=dict(img_path='DUTS-TR/DUTS-TR-Image', seg_map_path='DUTS-TR/DUTS-TR-Mask'),
        pipeline=train_pipeline))
heldout_set = dict(
    type='SalientDataset',
    dataset_name='synth-DUTS-TE',
    data_root=data_root,
    data_prefix=dict(img_path='DUTS-TE/DUTS-TE-Image', seg_map_path='DUTS-TE/DUTS-TE-Mask'),
    pipeline=test_pipeline)
test_dataloader = dict(batch_size=1, num_workers=1, dataset=dict(_delete_=True, **heldout_set))
val_dataloader = dict(batch_size=1, num_workers=1, persistent_workers=False,
                      sampler=dict(type='DefaultSampler', shuffle=False), dataset=heldout_set)
val_evaluator = dict(type='SODMetric')
test_evaluator = val_evaluator
train_cfg = dict(type='IterBasedTrainLoop', max_iters=200, val_interval=200)
val_cfg = dict(type='ValLoop')
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=200, max_keep_ckpts=1))
randomness = dict(seed=0)
