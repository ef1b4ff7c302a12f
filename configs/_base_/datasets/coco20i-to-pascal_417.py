# COCO-20i -> PASCAL domain shift (official config_files/coco2pascal.yaml): base training on a COCO-20i fold,
# episodic test on PASCAL val with every PASCAL class whose name is not a base class of that COCO fold
# (official filter_classes, test_split -1).  The two datasets live under one top-level data_root.
_base_ = ['./coco20i_417.py']
data_root = 'data'
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LongSideResizePad', size=417),
    dict(type='PackSegInputs'),
]
test_dataloader = dict(
    dataset=dict(_delete_=True, type='FewShotPascalDataset', data_root='data/pascal',
                 ann_file='lists/pascal/val.txt', fold=-1, mode='episodic', shot=1, episodes_per_run=1000,
                 n_runs=5, seed=2020, exclude_seen_from=dict(dataset='coco', fold=0), pipeline=test_pipeline))
