"""Benchmark case for class-incremental segmentation: one training iteration at step 1 of a task.

``tools/benchmark.py --case ciss_step [--batch-size N] [--iters N] [--device cuda]
[--cfg-options configs=A.py,B.py step=1]``

For every config (default: MiB and BARM on VOC 15-1 overlapped, DeepLabV3-R101) the step's model is built as
the :class:`~visionx.engine.IncrementalRunner` builds it: grown classifier, frozen previous model (the
weights as constructed, no checkpoint and no ImageNet ``init_cfg``: timing does not depend on them), the step's
optimizer and per-group learning rates.  Rows:

- ``<config stem>``: a full training iteration (``train_step``: forward of the current and of the previous model,
  every loss, backward, optimizer step) on random images of the config's crop size;
- ``<config stem>/prev_forward``: the frozen previous model's forward alone (``no_grad``), so that its share of
  the iteration is visible.

``extra`` holds the trainable and frozen parameter counts.
"""
from __future__ import annotations

import os.path as osp

import torch

from . import BenchResult, measure, register_case

DEFAULT_CONFIGS = ('configs/ciss/mib_deeplabv3-r101-d16_1xb24-30e_voc-15-1-overlap.py',
                   'configs/ciss/barm_deeplabv3-r101-d16_1xb16-50e_voc-15-1-overlap.py')


def _batch(batch: int, size: tuple[int, int], num_classes: int, seed: int = 0) -> dict:
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, *size), generator=g, dtype=torch.uint8))
        s = SegDataSample(gt_sem_seg=PixelData(data=torch.randint(0, num_classes, (1, *size), generator=g)))
        s.set_metainfo(dict(img_shape=size, ori_shape=size, pad_shape=size))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


@register_case('ciss_step')
def ciss_step(args) -> list[BenchResult]:
    """Seconds per training iteration and peak memory at a CISS step, with the frozen previous model."""
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    from visionx.engine import IncrementalRunner
    from visionx.registry import MODELS
    opts = dict(getattr(args, 'cfg_options', None) or {})
    configs = opts.get('configs', DEFAULT_CONFIGS)
    configs = configs.split(',') if isinstance(configs, str) else list(configs)
    step = int(opts.get('step', 1))
    init_default_scope('visionx')
    device = torch.device(getattr(args, 'device', None) or ('cuda' if torch.cuda.is_available() else 'cpu'))
    iters, warmup = int(getattr(args, 'iters', 3) or 3), int(getattr(args, 'warmup', 1) or 1)
    rows = []
    for path in configs:
        cfg = Config.fromfile(path)
        cfg.work_dir = osp.join('work_dirs', 'benchmark_ciss')
        step_cfg = IncrementalRunner(cfg).step_config(step, prev_checkpoint=None)
        step_cfg.model.prev_checkpoint = None
        batch = int(getattr(args, 'batch_size', None) or step_cfg.train_dataloader.batch_size)
        size = tuple(step_cfg.model.data_preprocessor.get('size'))
        torch.manual_seed(0)
        model = MODELS.build(step_cfg.model)
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            model = revert_sync_batchnorm(model)
        model.to(device).train()
        wrapper_cfg = step_cfg.optim_wrapper.to_dict()
        if device.type != 'cuda' and wrapper_cfg.get('type') == 'AmpOptimWrapper':
            wrapper_cfg['type'] = 'OptimWrapper'
        wrapper = build_optim_wrapper(model, wrapper_cfg)
        data = _batch(batch, size, model.num_classes)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        frozen = sum(p.numel() for p in model.prev_model.parameters())
        name = osp.splitext(osp.basename(path))[0]
        extra = dict(step=step, batch=batch, crop=list(size), trainable_params=trainable, frozen_params=frozen)
        rows.append(measure(lambda: model.train_step(data, wrapper), case=name, unit='images',
                            items_per_iter=batch, iters=iters, warmup=warmup, device=device, extra=extra))
        prev_inputs = model.data_preprocessor(data, training=True)['inputs']

        def prev_forward():
            with torch.no_grad():
                model.prev_model.logits(prev_inputs)

        rows.append(measure(prev_forward, case=f'{name}/prev_forward', unit='images', items_per_iter=batch,
                            iters=iters, warmup=warmup, device=device, extra=dict(step=step, batch=batch)))
        del model, wrapper
    return rows
