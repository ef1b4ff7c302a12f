# Runtime shared by every VisionX config.
default_scope = 'visionx'
# Built through the RUNNERS registry (VisionX's and mmseg's tools: `RUNNERS.build(cfg)`): RNG-state checkpoints
# for exact resume and distributed training on CPU (gloo).  Scoped, so mmseg's registry finds it before
# the runner has set the default scope.
runner_type = 'visionx.VisionXRunner'
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to 'gloo' when CUDA is not available (CPU DDP).
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='AtomicLocalVisBackend')]  # MMEngine's LocalVisBackend, images written atomically
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
tta_model = None
