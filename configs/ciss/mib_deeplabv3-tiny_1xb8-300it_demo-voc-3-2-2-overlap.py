# CISS CPU demo, MiB: unbiased cross-entropy, unbiased knowledge distillation (weight 10) and MiB's
# classifier initialisation, on the same task and schedule as the fine-tuning demo.
_base_ = ['./finetune_deeplabv3-tiny_1xb8-300it_demo-voc-3-2-2-overlap.py']
model = dict(
    new_classifier_init='mib',
    loss_ce=dict(_delete_=True, type='UnbiasedCrossEntropyLoss', loss_name='loss_ce'),
    loss_kd=dict(_delete_=True, type='UnbiasedKDLoss', alpha=1.0, loss_weight=10.0, loss_name='loss_kd'))
