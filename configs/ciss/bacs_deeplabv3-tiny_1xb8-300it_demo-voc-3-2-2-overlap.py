# CISS CPU demo, BACS: the background-shift detector, the background-shift-aware CE, the masked feature
# distillation and Dark Experience Replay++ on the same task, network and 300-iteration schedule as the
# fine-tuning and MiB demos.  The replay buffer holds 8 of the 240 training crops, about the official share
# (300 of 10582 VOC images, 2.8 %), replayed as one batch of 8 per iteration (as the training batch); the
# detector weight decays as over 30 epochs (official max_epochs) of the 300 iterations.
_base_ = ['./finetune_deeplabv3-tiny_1xb8-300it_demo-voc-3-2-2-overlap.py']
model = dict(
    type='BACSSegmentor',
    detector_in_channels=128,
    detector=dict(reduction=4, dropout=0.1),
    detector_loss_epochs=30,
    new_classifier_init='mib',
    loss_ce=dict(_delete_=True, type='BgAwareCrossEntropyLoss', gamma=2.0, threshold=0.5, loss_name='loss_ce'),
    loss_kd=dict(_delete_=True, type='MaskedFeatureKDLoss', loss_weight=0.25, threshold=0.5, squared=True,
                 loss_name='loss_kd'),
    loss_det=dict(type='BinaryFocalLoss', gamma=2.0, loss_name='loss_det'),
    loss_der=dict(type='DERLogitLoss', loss_weight=0.8, loss_name='loss_der'),
    loss_derpp=dict(type='DERLabelLoss', loss_weight=0.5, loss_name='loss_derpp'))
custom_hooks = [dict(type='BACSReplayHook', capacity=8, batch_size=8, autocontrast_prob=0.5)]
