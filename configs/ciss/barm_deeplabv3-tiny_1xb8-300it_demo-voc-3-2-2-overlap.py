# CISS CPU demo, BARM: the demo task and schedule of the fine-tuning / MiB demos with BARM's network and losses
# (residual background, pseudo-labels, L_tri / L_bfd / L_gkd / L_bga) and its per-group learning rates at the
# later steps (new head and ear at the step lr, the rest at a tenth of it).
_base_ = [
    '../_base_/datasets/ciss_demo_voc_48.py', '../_base_/models/barm_deeplabv3-tiny.py',
    '../_base_/schedules/schedule_ciss-demo_300it.py', '../_base_/default_runtime.py'
]
runner_type = 'visionx.IncrementalRunner'
ciss = dict(
    later_steps={
        'train_cfg.max_iters': 150,
        'param_scheduler': [dict(type='PolyLR', power=0.9, eta_min=1e-4, begin=0, end=150, by_epoch=False)],
        'default_hooks.checkpoint.interval': 150,
        'optim_wrapper.optimizer.lr': 0.005,
        'optim_wrapper.paramwise_cfg': {
            '_delete_': True,
            'custom_keys': {
                'decode_head.heads.{step}.': dict(lr_mult=1.0),
                'decode_head.ears.{step}.': dict(lr_mult=1.0),
                'decode_head': dict(lr_mult=0.1),
                'backbone': dict(lr_mult=0.1),
            }
        },
    })
