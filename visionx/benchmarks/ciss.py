"""Benchmark case for class-incremental segmentation: one training iteration at step 1 of a task.

``tools/benchmark.py --case ciss_step [--batch-size N] [--iters N] [--device cuda]
[--cfg-options configs=A.py,B.py step=1 replay_batch=N]``

For every config (default: MiB, BARM and BACS on VOC 15-1 overlapped, DeepLabV3-R101) the step's model is built
as the :class:`~visionx.engine.IncrementalRunner` builds it: grown classifier, frozen previous model (the
weights as constructed, no checkpoint and no ImageNet ``init_cfg``: timing does not depend on them), the step's
optimizer and per-group learning rates.  Rows:

- ``<config stem>``: a full training iteration (``train_step``: forward of the current and of the previous model,
  every loss, backward, optimizer step) on random images of the config's crop size;
- ``<config stem>/prev_forward``: the frozen previous model's forward alone (``no_grad``), so that its share of
  the iteration is visible (BACS: ``forward_bacs``, the call its loss makes: network plus detector projector);
- ``<config stem>/buffer_fill`` (configs with a ``BACSReplayHook``): the end-of-step replay-buffer fill per
  batch of the train batch size, in eval mode, through the hook's own per-batch code
  (:func:`~visionx.engine.hooks.bacs_replay.fill_batch`: ``model.buffer_entries`` forward, de-normalisation to
  uint8, ``ReplayBuffer.add`` with the score-based reservoir).  Throughput is images per second;
  ``extra['s_per_1000_images']`` is ``1000 * median latency / batch``, the fill time per 1,000 training images
  (VOC 15-1 step 0 offers about 10,000).

BACS (METHODS.md part B §5.2.3; official ``loss/bacs_loss.py`` ``on_train_start`` / ``on_train_end``): where the
built model wants replay (``model.wants_replay``: step >= 1 with a DER term), the case attaches a
:class:`~visionx.engine.hooks.bacs_replay.ReplaySampler` over an in-memory
:class:`~visionx.datasets.ciss.replay.ReplayBuffer` filled with random samples of the right shapes (uint8
images at the crop size; labels and logits of the ``num_old_classes`` classes the previous step knew; logits
at the model's raw logit size, zero-padded to the task's total classes; ``capacity`` slots, the hook's), so
the ``train_step`` row includes the replay mini-batch's draw, autocontrast, forward and backward.  The replay
batch size is the hook's ``batch_size`` unless ``replay_batch=N`` is given.  Choices, each a deviation from a
real run that does not change what is timed beyond the stated amount:

* the buffer lives in memory (a real step memory-maps the previous step's ``.npy`` files, read from the page
  cache after the first draws);
* the fill row starts from that full buffer (reservoir counter = capacity), so nearly every offered sample is
  accepted and pays the replacement-score computation: an upper bound of the reservoir's share, which falls
  as ``capacity / N`` over a real pass; the fill row is measured even at the task's last step, which writes
  no buffer in training (same per-image cost);
* the official fill runs the backbone twice per batch (``model(images)`` then ``get_penultimate_output`` for
  the seen map) and its training step runs two replay forwards (12 images for the logit term, 12 for the
  label term); VisionX runs one of each (see :mod:`visionx.models.ciss.bacs`), so per-image times are not
  comparable with the official code's.

``extra`` holds the trainable and frozen parameter counts and the loss terms of the last timed step
(``losses``); BACS rows add ``replay_batch`` and ``replay_capacity``.  On CPU the peak memory (resident-set
high-water mark) of the BACS rows includes the random buffer (about 0.5 GB at VOC 512 crops).
"""
from __future__ import annotations

import os.path as osp

import numpy as np
import torch

from visionx.utils.errors import ConfigError
from . import BenchResult, measure, register_case

DEFAULT_CONFIGS = ('configs/ciss/mib_deeplabv3-r101-d16_1xb24-30e_voc-15-1-overlap.py',
                   'configs/ciss/barm_deeplabv3-r101-d16_1xb16-50e_voc-15-1-overlap.py',
                   'configs/ciss/bacs_deeplabv3-r101-d16_1xb24-30e_voc-15-1-overlap.py')
REPLAY_HOOK = 'BACSReplayHook'


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


def _replay_hook(cfg, path: str):
    """The config's ``BACSReplayHook`` (built, so its defaults and checks apply), or ``None``."""
    from visionx.registry import HOOKS
    found = [h for h in cfg.get('custom_hooks', None) or [] if str(h.get('type', '')).split('.')[-1] == REPLAY_HOOK]
    if len(found) > 1:
        raise ConfigError(f'{path}: custom_hooks has {len(found)} {REPLAY_HOOK} entries, expected one')
    return HOOKS.build(dict(found[0])) if found else None


def _random_buffer(capacity: int, size: tuple[int, int], logit_shape: tuple[int, int, int], num_classes: int,
                   task: int, seed: int = 0, chunk: int = 50):
    """A full :class:`ReplayBuffer` of random samples: ``num_classes`` valid logit channels, labels below it."""
    from visionx.datasets.ciss.replay import ReplayBuffer
    buffer = ReplayBuffer(capacity, image_shape=(3, *size), logit_shape=logit_shape)
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    for start in range(0, capacity, chunk):
        n = min(chunk, capacity - start)
        buffer.add(images=torch.randint(0, 256, (n, 3, *size), generator=g, dtype=torch.uint8),
                   labels=torch.randint(0, num_classes, (n, *size), generator=g, dtype=torch.uint8),
                   logits=torch.randn(n, num_classes, *logit_shape[1:], generator=g), num_classes=num_classes,
                   seen=torch.rand(n, *size, generator=g), task=task, importance=-torch.rand(n, generator=g),
                   generator=rng)
    return buffer


@torch.no_grad()
def _raw_logit_size(model, size: tuple[int, int], device) -> tuple[int, int]:
    """Spatial size of the model's raw (pre-upsampling) logits at crop ``size``: one image, eval mode."""
    was_training = model.training
    model.eval()
    try:
        return tuple(model.logits(torch.zeros(1, 3, *size, device=device)).shape[-2:])
    finally:
        model.train(was_training)


@register_case('ciss_step')
def ciss_step(args) -> list[BenchResult]:
    """Seconds per training iteration and peak memory at a CISS step, with the frozen previous model."""
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    from visionx.engine import IncrementalRunner
    from visionx.engine.hooks.bacs_replay import ReplaySampler, fill_batch
    from visionx.engine.incremental import task_of
    from visionx.registry import MODELS
    opts = dict(getattr(args, 'cfg_options', None) or {})
    configs = opts.get('configs', DEFAULT_CONFIGS)
    configs = configs.split(',') if isinstance(configs, str) else list(configs)
    step = int(opts.get('step', 1))
    replay_batch = opts.get('replay_batch')
    if replay_batch is not None and (isinstance(replay_batch, bool) or not str(replay_batch).isdigit()
                                     or int(replay_batch) < 1):
        raise ConfigError(f'--cfg-options replay_batch must be a positive integer, got {replay_batch!r}')
    init_default_scope('visionx')
    device = torch.device(getattr(args, 'device', None) or ('cuda' if torch.cuda.is_available() else 'cpu'))
    iters = int(getattr(args, 'iters', None) or 3)
    warmup = getattr(args, 'warmup', None)
    warmup = 1 if warmup is None else int(warmup)  # --warmup 0 means none (it used to become 1)
    rows = []
    for path in configs:
        cfg = Config.fromfile(path)
        cfg.work_dir = osp.join('work_dirs', 'benchmark_ciss')
        step_cfg = IncrementalRunner(cfg).step_config(step, prev_checkpoint=None)
        step_cfg.model.prev_checkpoint = None
        batch = int(getattr(args, 'batch_size', None) or step_cfg.train_dataloader.batch_size)
        size = tuple(step_cfg.model.data_preprocessor.get('size'))
        hook = _replay_hook(step_cfg, path)
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
        buffer = None
        if hook is not None or getattr(model, 'wants_replay', False):
            if hook is None:
                raise ConfigError(f'{path}: the model needs a replay buffer at step {step} but custom_hooks has no '
                                  f'{REPLAY_HOOK}')
            total_classes = sum(task_of(step_cfg).classes_per_step)
            logit_size = _raw_logit_size(model, size, device)
            buffer = _random_buffer(hook.capacity, size, (total_classes, *logit_size),
                                    max(model.num_old_classes, 1), task=max(step - 1, 0), seed=hook.seed)
        if getattr(model, 'wants_replay', False):
            n_replay = int(replay_batch) if replay_batch is not None else hook.batch_size
            pre = model.data_preprocessor
            model.replay = ReplaySampler(buffer, n_replay, pre.mean, pre.std,
                                         torch.Generator().manual_seed(hook.seed), hook.autocontrast_prob)
            extra.update(replay_batch=n_replay, replay_capacity=hook.capacity)
        last = {}

        def train_step():
            last['log_vars'] = model.train_step(data, wrapper)

        rows.append(measure(train_step, case=name, unit='images', items_per_iter=batch, iters=iters,
                            warmup=warmup, device=device, extra=extra))
        rows[-1].extra['losses'] = sorted(k for k in last['log_vars'] if k.startswith('loss_'))
        preprocessed = model.data_preprocessor(data, training=True)
        prev_call = getattr(model.prev_model, 'forward_bacs', model.prev_model.logits)

        def prev_forward():
            with torch.no_grad():
                prev_call(preprocessed['inputs'])

        rows.append(measure(prev_forward, case=f'{name}/prev_forward', unit='images', items_per_iter=batch,
                            iters=iters, warmup=warmup, device=device, extra=dict(step=step, batch=batch)))
        if hook is not None:
            model.replay = None
            reservoir = np.random.default_rng(hook.seed + 1000 * (step + 1))  # as BACSReplayHook.fill
            model.eval()

            def fill():
                fill_batch(model, buffer, preprocessed, reservoir)

            res = measure(fill, case=f'{name}/buffer_fill', unit='images', items_per_iter=batch, iters=iters,
                          warmup=warmup, device=device,
                          extra=dict(step=step, batch=batch, crop=list(size), replay_capacity=hook.capacity))
            model.train()
            res.extra['s_per_1000_images'] = 1000 * float(np.median(res.latencies_s)) / batch
            rows.append(res)
        del model, wrapper, buffer
    return rows
