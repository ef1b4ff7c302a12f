# TraCoCo, V-Net, Pancreas-CT with 12 labelled / 50 unlabelled cases.
_base_ = ['./tracoco_vnet_1xb4-10k_pancreas-6lab-96x96x96.py']

model = dict(unsup_weight=1.0, rampup_iters=40 * (12 // 2))
train_dataloader = dict(dataset=dict(labeled_num=12))
