# BPKD: edge loss (weight 50, alpha 2) and body loss (weight 20) on 7x7 ground-truth edges; tau 1
# (UNVERIFIED: the re-implementations use 1 or 4, see visionx/models/losses/bpkd/losses.py).
# Teacher HRNetV2p-W48 + FCN -> student HRNetV2p-W18-Small + FCN on Pascal-Context-59; the student's config,
# data and schedule are the baseline's.  Put the teacher's mmseg 1.x checkpoint at teacher_checkpoint.
_base_ = './fcn_hr18s_4xb4-80k_pascal-context-59-480x480.py'
teacher_cfg = 'configs/bpkd/fcn_hr48_4xb4-80k_pascal-context-59-480x480.py'
teacher_checkpoint = 'checkpoints/bpkd/fcn_hr48_pascal-context-59.pth'
model = dict(
    _delete_=True,
    type='KDEncoderDecoder',
    # the student's preprocessor: otherwise the runner would merge the top-level one into this dict
    data_preprocessor={{_base_.model.data_preprocessor}},
    student={{_base_.model}},
    teacher_cfg=teacher_cfg,
    teacher_checkpoint=teacher_checkpoint,
    distill_losses=[
        dict(type='BPKDEdgeLoss', tau=1.0, alpha=2.0, kernel_size=7, loss_weight=50.0),
        dict(type='BPKDBodyLoss', tau=1.0, kernel_size=7, loss_weight=20.0),
    ])
