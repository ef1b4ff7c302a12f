# Runtime shared by every VisionX config.
default_scope = 'visionx'
# Built through the RUNNERS registry (tools, mmseg-style `RUNNERS.build(cfg)`): RNG-state checkpoints for
# exact resume and distributed training on CPU (gloo).
runner_type = 'VisionXRunner'
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to 'gloo' when CUDA is not available (CPU DDP).
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
tta_model = None
