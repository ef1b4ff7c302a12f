# GridFormer stage 2 (boundary optimisation): 201 epochs at a constant LR of 1e-6.  The official refine.py
# restores stage 1's optimiser/scheduler state, which leaves the LR at the end of stage 1's cosine (about
# 1e-8); the constant 1e-6 is the value refine.py writes (see configs/gridformer/README.md).  Hooks and
# validation as stage 1 (schedule_adam-cosine_1501e.py).
_base_ = ['./schedule_adam-cosine_1501e.py']
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=201, val_interval=10)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-6))
param_scheduler = []
