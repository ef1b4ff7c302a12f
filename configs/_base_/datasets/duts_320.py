# The data of duts_256.py at BASNet's extended-version resolution (arXiv 2101.04704): the maintainers state
# that only the input resolution changed, 256 -> 320 (issue #55).  The training crop at 320 is not published;
# we use 288, the RescaleT(320) + RandomCrop(288) recipe of the same authors' U^2-Net (an assumption, see
# configs/basnet/README.md).
_base_ = ['./duts_256.py']
crop_size = (288, 288)
test_size = (320, 320)
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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# Lists are replaced, not merged: the six test sets again, with this file's test pipeline.
test_dataloader = dict(dataset=dict(datasets=[
    dict(type='SalientDataset', dataset_name=n, data_root='data/' + n,
         data_prefix=dict(img_path=i, seg_map_path=g), img_suffix=s, seg_map_suffix='.png',
         pipeline=test_pipeline)
    for n, i, g, s in (('SOD', 'Imgs', 'GT', '.jpg'), ('ECSSD', 'images', 'ground_truth_mask', '.jpg'),
                       ('DUT-OMRON', 'DUT-OMRON-image', 'pixelwiseGT-new-PNG', '.jpg'),
                       ('PASCAL-S', 'Imgs', 'GT', '.jpg'), ('HKU-IS', 'imgs', 'gt', '.png'),
                       ('DUTS-TE', 'DUTS-TE-Image', 'DUTS-TE-Mask', '.jpg'))
]))
