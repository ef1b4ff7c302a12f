# BACS (METHODS.md B§5.1-5.2) on DeepLabV3-R101 at output stride 16 with the MiB-style multi-head classifier
# (one 1x1 conv per step, new heads initialised MiB's way): the backward background-shift detector on the
# backbone output (2048 -> 512 projector, one prototype and one head per task), the background-shift-aware CE,
# the masked (squared-feature) distillation of the 256-channel head output (lambda 0.25, threshold 0.5), and
# Dark Experience Replay++ (DER logit MSE alpha 0.8, DER++ label CE beta 0.5; conf/experiments) through
# BACSReplayHook (300 samples across tasks).
_base_ = ['./deeplabv3_r101-d16_incremental.py']
model = dict(
    type='BACSSegmentor',
    detector_in_channels=2048,
    detector=dict(reduction=4, dropout=0.1),
    new_classifier_init='mib',
    loss_ce=dict(_delete_=True, type='BgAwareCrossEntropyLoss', gamma=2.0, threshold=0.5, loss_name='loss_ce'),
    loss_kd=dict(_delete_=True, type='MaskedFeatureKDLoss', loss_weight=0.25, threshold=0.5, squared=True,
                 loss_name='loss_kd'),
    loss_det=dict(type='BinaryFocalLoss', gamma=2.0, loss_name='loss_det'),
    loss_der=dict(type='DERLogitLoss', loss_weight=0.8, loss_name='loss_der'),
    loss_derpp=dict(type='DERLabelLoss', loss_weight=0.5, loss_name='loss_derpp'))
custom_hooks = [dict(type='BACSReplayHook', capacity=300, batch_size=24, autocontrast_prob=0.5)]
