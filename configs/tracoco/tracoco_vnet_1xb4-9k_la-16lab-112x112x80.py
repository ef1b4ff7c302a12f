# TraCoCo, V-Net, LA with 16 labelled / 64 unlabelled cases.
_base_ = ['./tracoco_vnet_1xb4-9k_la-8lab-112x112x80.py']

model = dict(unsup_weight=1.0, rampup_iters=40 * (16 // 2))
train_dataloader = dict(dataset=dict(labeled_num=16))
