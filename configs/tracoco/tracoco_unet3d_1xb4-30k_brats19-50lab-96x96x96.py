# TraCoCo, 3D U-Net, BraTS19 with 50 labelled / 199 unlabelled cases.
_base_ = ['./tracoco_unet3d_1xb4-30k_brats19-25lab-96x96x96.py']

model = dict(rampup_iters=40 * (50 // 2))
train_dataloader = dict(dataset=dict(labeled_num=50))
