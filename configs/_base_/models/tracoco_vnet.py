# TraCoCo (official scripts/train_la.sh, Configs/config.py): two V-Nets co-trained with
# 0.5 (CE + Dice) + w(t) [CBC + spatial_weight KL(overlap) + hyp (-entropy)(overlap)] (configs/tracoco/README.md).
# Loss weights, ramp-up, noise and sliding window are LA's; the configs for other datasets override them.
model = dict(
    type='TraCoCo',
    backbone=dict(type='VNet', in_channels=1, num_classes=2, base_channels=16, norm='batch', has_dropout=True),
    num_classes=2,
    sup_loss=dict(type='TraCoCoSupLoss'),
    cbc_loss=dict(type='CBCLoss', tau_pos=0.65, tau_neg=0.1),
    # spatial_weight = 0.3; official quirk: clamp raw logits to [1e-6, 1] before the softmax (both overlap terms)
    trans_loss=dict(type='TranslationConsistencyLoss', loss_weight=0.3, reduction='sum', clamp_logits=True),
    entropy_loss=dict(type='OverlapNegEntropyLoss', loss_weight=0.1, clamp_logits=True),  # hyp = 0.1
    unsup_weight=0.3,           # 8 labelled -> 0.3; 16 / 32 labelled -> 1.0
    rampup_iters=40 * (8 // 2),  # 40 "epochs" of labeled_num // 2 iterations
    noise_range=0.2,
    noise_clamp=False,
    cutmix_beta=4.0,
    cutmix_full_depth=True,     # official quirk: the CutMix box spans the whole depth
    # sliding window over the training patch size (LA: 112x112x80)
    test_cfg=dict(patch_size=(112, 112, 80), strides=(18, 18, 4), batch_size=4, eval_nets=('net1', 'net2'),
                  output='net1', post_min_size=None, keep_largest=False),
    data_preprocessor=dict(type='VolumeDataPreprocessor'))
# Distributed runs: wrap each network separately so that TraCoCo's own train_step drives both optimizers.
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=False)
