# BASNet's data (CVPR 2019): DUTS-TR, flip-augmented offline, RescaleT(256) + RandomCrop(224), batch 8;
# tested at 256x256 on six SOD test sets, maps resized back to the original size.  See configs/basnet/README.md.
crop_size = (224, 224)
test_size = (256, 256)
dataset_type = 'SalientDataset'
data_root = 'data/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadSalientMask'),
    dict(type='Resize', scale=test_size, keep_ratio=False),  # RescaleT(256): aspect ratio ignored
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='NormalizeByMax'),
    dict(type='PackSalientInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=test_size, keep_ratio=False),
    dict(type='NormalizeByMax'),
    dict(type='LoadSalientMask'),  # after Resize: the GT stays at the original size for evaluation
    dict(type='PackSalientInputs'),
]


def _sod_set(name, img_dir, mask_dir, img_suffix='.jpg'):
    return dict(type=dataset_type, dataset_name=name, data_root=data_root + name,
                data_prefix=dict(img_path=img_dir, seg_map_path=mask_dir), img_suffix=img_suffix,
                seg_map_suffix='.png', pipeline=test_pipeline)


train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        dataset_name='DUTS-TR',
        data_root=data_root + 'DUTS/DUTS-TR',
        # the offline horizontally-flipped copy of DUTS-TR (21,106 images), see README
        data_prefix=dict(img_path='im_aug', seg_map_path='gt_aug'),
        pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            _sod_set('SOD', 'Imgs', 'GT'),
            _sod_set('ECSSD', 'images', 'ground_truth_mask'),
            _sod_set('DUT-OMRON', 'DUT-OMRON-image', 'pixelwiseGT-new-PNG'),
            _sod_set('PASCAL-S', 'Imgs', 'GT'),
            _sod_set('HKU-IS', 'imgs', 'gt', img_suffix='.png'),
            _sod_set('DUTS-TE', 'DUTS-TE-Image', 'DUTS-TE-Mask'),
        ]))
test_evaluator = dict(type='SODMetric')
