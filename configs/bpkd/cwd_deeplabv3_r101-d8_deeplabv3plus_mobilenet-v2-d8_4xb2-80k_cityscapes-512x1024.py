# Channel-wise distillation of the logits (CWD, Shu et al. 2021; mmrazor's segmentation setting
# tau 1, weight 3): the strongest baseline of BPKD's tables.
# Teacher DeepLabV3-R101-D8 -> student DeepLabV3+-MobileNetV2-D8 on Cityscapes; the student's config,
# data and schedule are the baseline's.  Put the teacher's mmseg 1.x checkpoint at teacher_checkpoint.
_base_ = './deeplabv3plus_mobilenet-v2-d8_4xb2-80k_cityscapes-512x1024.py'
teacher_cfg = 'configs/bpkd/deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024.py'
teacher_checkpoint = 'checkpoints/bpkd/deeplabv3_r101-d8_cityscapes.pth'
model = dict(
    _delete_=True,
    type='KDEncoderDecoder',
    # the student's preprocessor: otherwise the runner would merge the top-level one into this dict
    data_preprocessor={{_base_.model.data_preprocessor}},
    student={{_base_.model}},
    teacher_cfg=teacher_cfg,
    teacher_checkpoint=teacher_checkpoint,
    distill_losses=[dict(type='ChannelWiseDivergenceLoss', tau=1.0, loss_weight=3.0)])
