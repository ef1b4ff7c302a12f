# BPKD CPU demo: the quarter-width student distilled from the demo teacher with CWD (tau 1, weight 3), same
# data and schedule as the student baseline.  tools/demo.sh trains the teacher first into teacher_checkpoint.
_base_ = './pspnet_r18-w16-d8_1xb8-300it_demo-bpkd-64x64.py'
teacher_cfg = 'configs/bpkd/pspnet_r18-d8_1xb8-300it_demo-bpkd-64x64.py'
teacher_checkpoint = 'work_dirs/demo/bpkd_teacher/iter_300.pth'
model = dict(
    _delete_=True,
    type='KDEncoderDecoder',
    # the student's preprocessor: otherwise the runner would merge the top-level one into this dict
    data_preprocessor={{_base_.model.data_preprocessor}},
    student={{_base_.model}},
    teacher_cfg=teacher_cfg,
    teacher_checkpoint=teacher_checkpoint,
    distill_losses=[dict(type='ChannelWiseDivergenceLoss', tau=1.0, loss_weight=3.0)])
