# COCO-20i (COCO 2014, masks of the official data/coco/create_masks.py, official lists/coco) for RePRI:
# interleaved folds (novel {i+1, i+5, ..., i+77}), 60 base classes + background; otherwise as PASCAL-5i.
_base_ = ['./pascal5i_417.py']
dataset_type = 'FewShotCocoDataset'
data_root = 'data/coco'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, ann_file='lists/coco/train.txt'))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, ann_file='lists/coco/val.txt'))
