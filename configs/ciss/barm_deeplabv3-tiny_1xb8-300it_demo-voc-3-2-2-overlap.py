# CISS CPU demo, BARM: the demo task and schedule of the fine-tuning / MiB demos with BARM's network and losses
# (residual background, pseudo-labels, L_tri / L_bfd / L_gkd / L_bga) and its per-group learning rates at the
# later steps (new head and ear at lr 0.01, the rest at a tenth of it); every step runs 300 iterations.
_base_ = [
    '../_base_/datasets/ciss_demo_voc_48.py', '../_base_/models/barm_deeplabv3-tiny.py',
    '../_base_/schedules/schedule_ciss-demo_300it.py', '../_base_/default_runtime.py'
]
runner_type = 'visionx.IncrementalRunner'
ciss = dict(
    later_steps={
        'optim_wrapper.paramwise_cfg': {
            'custom_keys': {
                'decode_head.heads.{step}.': dict(lr_mult=1.0),
                'decode_head.ears.{step}.': dict(lr_mult=1.0),
                'decode_head': dict(lr_mult=0.1),
                'backbone': dict(lr_mult=0.1),
            }
        },
    })
