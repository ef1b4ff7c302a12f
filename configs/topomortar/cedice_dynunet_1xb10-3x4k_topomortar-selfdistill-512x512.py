# TopoMortar's self-distillation framework (study cases SC8 / SC9; METHODS §3.4): the TopoMortar setup of
# cedice_dynunet_1xb10-12k_topomortar-512x512.py trained in 3 rounds x 4000 iterations.  After rounds 1 and 2
# the training images are predicted without random transforms, their softmax is saved as soft labels
# (work_dir/soft_labels/round_<r>/<ID>.npy), all parameters are reset and SGD is re-created; the next round
# trains on the soft labels.  Validation (every 1000 iterations) uses the hard labels of the val split.
#
# Labels: pseudo (SC8) by default; SC9 (noisy labels) is
#   --cfg-options train_dataloader.dataset.label_type=noisy val_dataloader.dataset.label_type=noisy
# (the test split always uses the accurate labels).  The inherited AutoAmpOptimWrapper trains with AMP on a GPU.
_base_ = [
    '../_base_/models/dynunet_deep-supervision.py', '../_base_/datasets/topomortar_softlabels_512x512.py',
    '../_base_/schedules/schedule_sgd-poly-amp_12k.py', '../_base_/default_runtime.py'
]

label_type = 'pseudo'   # 'pseudo' (SC8) | 'noisy' (SC9) | 'accurate'
rounds = 3
iters_per_round = 4000

train_dataloader = dict(dataset=dict(label_type=label_type))
val_dataloader = dict(dataset=dict(label_type=label_type))

# One round's schedule: the loop rebuilds it (and the optimizer) at the start of every round.
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=iters_per_round, by_epoch=False)]
train_cfg = dict(
    _delete_=True, type='SelfDistillationLoop', rounds=rounds, iters_per_round=iters_per_round,
    val_interval=1000,
    # True: the official code's [inferred] constant lr 0.01 in rounds 2-3 (its LambdaLR stays bound to the
    # round-1 optimizer); False: poly over every round.
    official_scheduler=False)
default_hooks = dict(checkpoint=dict(interval=1000, max_keep_ckpts=2))
