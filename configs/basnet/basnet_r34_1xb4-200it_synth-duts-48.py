# CPU demo of BASNet on the synthetic DUTS-style data (python tools/data/make_demo_data.py writes
# data/demo/basnet).  Same network (87,060,360 parameters), loss, optimiser and data flow as the paper
# config; differences, all for a short run on 2 CPU cores: 56x56 resize + 48x48 crop (paper:
# 256 + 224), batch 4 (paper: 8), 200 iterations (paper: ~400k), no ImageNet initialisation, and a
# held-out evaluation on the synthetic DUTS-TE split at the end.
_base_ = [
    '../_base_/models/basnet_r34.py', '../_base_/datasets/synth_duts_48.py',
    '../_base_/schedules/schedule_adam_400k.py', '../_base_/default_runtime.py'
]

model = dict(
    # 48 is not a multiple of 32: pad training batches to exactly the crop size (i.e. never)
    data_preprocessor=dict(size=(48, 48), size_divisor=None),
    encoder=dict(init_cfg=None))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=200, val_interval=200)
val_cfg = dict(type='ValLoop')
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=200, max_keep_ckpts=1))
# deterministic=True: torch.use_deterministic_algorithms(True) (an error instead of a silently
# non-deterministic kernel; on CPU the numbers are the same as without it)
randomness = dict(seed=0, deterministic=True)
