# Supervised-only baseline for the CPU demo: the TraCoCo demo config with unsup_weight=0 (two independent
# networks trained with 0.5*(CE + Dice) on the labelled half of the same batches, same iterations).
_base_ = ['./tracoco_vnet-tiny_1xb4-150it_demo-4lab-32x32x32.py']

model = dict(unsup_weight=0.0)
