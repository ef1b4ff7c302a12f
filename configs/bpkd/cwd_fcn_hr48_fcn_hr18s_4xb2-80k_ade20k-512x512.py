# Channel-wise distillation of the logits (CWD, Shu et al. 2021; mmrazor's segmentation setting
# tau 1, weight 3): the strongest baseline of BPKD's tables.
# Teacher HRNetV2p-W48 + FCN -> student HRNetV2p-W18-Small + FCN on ADE20K; the student's config,
# data and schedule are the baseline's.  Put the teacher's mmseg 1.x checkpoint at teacher_checkpoint.
_base_ = './fcn_hr18s_4xb2-80k_ade20k-512x512.py'
teacher_cfg = 'configs/bpkd/fcn_hr48_4xb2-80k_ade20k-512x512.py'
teacher_checkpoint = 'checkpoints/bpkd/fcn_hr48_ade20k.pth'
model = dict(
    _delete_=True,
    type='KDEncoderDecoder',
    # the student's preprocessor: otherwise the runner would merge the top-level one into this dict
    data_preprocessor={{_base_.model.data_preprocessor}},
    student={{_base_.model}},
    teacher_cfg=teacher_cfg,
    teacher_checkpoint=teacher_checkpoint,
    distill_losses=[dict(type='ChannelWiseDivergenceLoss', tau=1.0, loss_weight=3.0)])
