# TraCoCo, V-Net, LA with 8 labelled / 72 unlabelled cases (official scripts/train_la.sh, Configs/config.py).
_base_ = [
    '../_base_/models/tracoco_vnet.py', '../_base_/datasets/la_112x112x80.py',
    '../_base_/schedules/schedule_2xsgd-poly_9k.py', '../_base_/default_runtime.py'
]
