# PASCAL-5i (VOC2012 + SBD SegmentationClassAug, official lists/pascal) for RePRI (METHODS.md B§3.1, §3.3).
# Base training: images with >= 2048 px of a base class, novel classes ignored (255), h-flip, v-flip, long
# side 417 + zero padding (label 255).  Test: 5 runs x 1000 seeded episodes (seed 2020, the official single
# stream), evaluated in the 417x417 padded frame by RePRI's transductive classifier.  No validation during
# training: the official code selects best.pth by episodic validation on the *test* classes, which we do
# not reproduce (the last checkpoint is tested).
dataset_type = 'FewShotPascalDataset'
data_root = 'data/pascal'
fold = 0
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='LongSideResizePad', size=417),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LongSideResizePad', size=417),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=3, num_workers=2, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True,  # official: a last batch of 1 image would break the PPM's 1x1-bin BatchNorm
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='lists/pascal/train.txt', fold=fold,
                 mode='base', pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='lists/pascal/val.txt', fold=fold,
                 mode='episodic', shot=1, episodes_per_run=1000, n_runs=5, seed=2020, pipeline=test_pipeline))
test_evaluator = dict(type='FewShotMetric')
# RePRI inference (official config_files + scripts/test.sh): 200 tasks jointly for 1-shot (100 for 5-shot,
# 50 for 10-shot), tau 20, 49 SGD steps at lr 0.025, weights [1, 1/K, 1/K], pi updated after step 9 with
# lambda_KL += 1 (kl_weight_increment=0.0 gives the paper's equation).
test_cfg = dict(
    type='RePRITestLoop', batch_size_val=200,
    classifier=dict(temperature=20.0, adapt_iter=50, weights=(1.0, 'auto', 'auto'), lr=0.025,
                    fb_param_update=(10, ), fb_param_type='soft', kl_weight_increment=1.0, norm_feat=True))
