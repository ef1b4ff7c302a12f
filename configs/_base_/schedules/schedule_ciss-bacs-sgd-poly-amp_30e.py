# BACS's schedule (METHODS.md B§5.3): SGD Nesterov, momentum 0.9, weight decay 1e-4, one parameter group, lr
# 0.01 at step 0 (0.001 at later steps, set by the method config's ciss.later_steps), poly decay (power 0.9)
# per iteration over 30 epochs per step, mixed precision (AutoAmpOptimWrapper: AMP on a GPU, fp32 on CPU) and
# gradient clipping by value 2.0.
_base_ = ['./schedule_ciss-sgd-poly_30e.py']
optim_wrapper = dict(
    _delete_=True,
    type='AutoAmpOptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4),
    clip_grad=dict(type='value', clip_value=2.0))
