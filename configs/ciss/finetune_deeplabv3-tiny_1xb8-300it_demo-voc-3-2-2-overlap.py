# CISS CPU demo, fine-tuning: the demo task (background + 3 classes, then 2 + 2) in one tools/train.py call;
# plain cross-entropy on each step's labels, no distillation (the lower bound).  Every step runs the same
# 300-iteration schedule (SGD 0.01, poly).
_base_ = [
    '../_base_/datasets/ciss_demo_voc_48.py', '../_base_/models/deeplabv3-tiny_incremental.py',
    '../_base_/schedules/schedule_ciss-demo_300it.py', '../_base_/default_runtime.py'
]
# steps 0..2 in one call, one VisionXRunner per step (visionx.engine.IncrementalRunner)
runner_type = 'visionx.IncrementalRunner'
ciss = dict(start_step=0)
