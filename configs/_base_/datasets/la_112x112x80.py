# Left Atrium (2018 Atrial Segmentation Challenge, UA-MT pre-processing, h5 volumes): 80 training cases, of
# which `labeled_num` are labelled; every batch of 4 holds 2 labelled and 2 unlabelled cases
# (TwoStreamBatchSampler).  Training patches 112x112x80, each cut twice with a random translation
# (TranslatedViewCrop3D) for TraCoCo's translation consistency.
data_root = 'data/LA'
patch_size = (112, 112, 80)

train_pipeline = [
    dict(type='LoadH5Volume'),
    dict(type='RandomRotFlip3D'),
    dict(type='MinMaxNormalize3D'),
    dict(type='RandomBrightness3D', scale_range=(0.75, 1.25)),
    dict(type='TranslatedViewCrop3D', patch_size=patch_size),
    dict(type='PackVolumeInputs'),
]
test_pipeline = [
    dict(type='LoadH5Volume'),
    dict(type='MinMaxNormalize3D'),
    dict(type='PackVolumeInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    # MMEngine needs a sampler; TwoStreamBatchSampler reads only its dataset and seed and draws the order
    # itself (endless permutations of the labelled and unlabelled ids, as the official sampler)
    sampler=dict(type='DefaultSampler', shuffle=False),
    batch_sampler=dict(type='TwoStreamBatchSampler', labeled_batch_size=2),
    dataset=dict(type='LAHeartDataset', data_root=data_root, split_file='train.list', labeled_num=8,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='LAHeartDataset', data_root=data_root, split_file='eval.list', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='MedicalSegMetric')
test_evaluator = val_evaluator
