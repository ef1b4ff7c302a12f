"""Benchmark cases for TraCoCo.

* ``tracoco_train_step``: one co-training iteration (pseudo-labels, both networks' forward / backward /
  SGD step) of the paper-size V-Net pair at ``--patch`` (default 112 x 112 x 80), ``--batch-size`` 4
  (half labelled, half unlabelled).
* ``tracoco_sliding_window``: sliding-window inference of one paper-size V-Net over an LA-sized ``--volume``
  (default 144 x 144 x 88; LA's pre-processed volumes are of this order) with the official strides
  (18, 18, 4).  ``--variants`` (interleaved, the first is the baseline; default ``fp32,serial,bf16``):
  ``fp32`` (windows batched ``--window-batch`` at a time, default 4), ``serial`` (fp32, one window per
  pass as the official code), ``bf16`` (batched, ``torch.autocast`` bfloat16), ``auto`` (the precision
  ``demo/segment_volume.py`` picks).  Rows report the fraction of voxels whose label differs from fp32.
"""
from __future__ import annotations

import argparse

import torch

from visionx.benchmarks import BenchResult, measure, register_case
from visionx.benchmarks.interleave import default_variants, measure_interleaved
from visionx.utils import ConfigError

PATCH = (112, 112, 80)
LA_VOLUME = (144, 144, 88)


def _arg(args: argparse.Namespace | None, name: str, default):
    value = getattr(args, name, None) if args is not None else None
    return default if value is None else value


def _shape(args, name: str, default: tuple[int, int, int]) -> tuple[int, int, int]:
    value = _arg(args, name, default)
    if len(value) != 3:
        raise ConfigError(f'--{name} needs three sizes X,Y,Z, got {value}')
    return tuple(int(v) for v in value)


def _device(args) -> torch.device:
    dev = _arg(args, 'device', None)
    return torch.device(dev if dev else ('cuda' if torch.cuda.is_available() else 'cpu'))


def _model(device: torch.device, patch=PATCH) -> torch.nn.Module:
    from visionx.models.medical import TraCoCo
    model = TraCoCo(dict(type='VNet'), rampup_iters=160,
                    test_cfg=dict(patch_size=patch, strides=(18, 18, 4)))
    return model.to(device)


def _train_batch(device: torch.device, patch=PATCH, batch: int = 4) -> dict:
    """A batch of random views whose translated crop overlaps the main one by all but 8 / 8 / 4 voxels."""
    from mmengine.structures import BaseDataElement
    gen = torch.Generator().manual_seed(0)
    main_box = ((8, patch[0]), (8, patch[1]), (4, patch[2]))
    trans_box = ((0, patch[0] - 8), (0, patch[1] - 8), (0, patch[2] - 4))
    inputs, samples = [], []
    for i in range(batch):
        x = torch.rand(2, 1, *patch, generator=gen)
        s = BaseDataElement(metainfo=dict(is_labeled=i < batch // 2, overlap=(main_box, trans_box)))
        s.gt_label = (x[:, 0] > 0.7).long()
        inputs.append(x)
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


@register_case('tracoco_train_step')
def train_step_case(args: argparse.Namespace | None = None) -> list[BenchResult]:
    """One TraCoCo co-training step (two V-Nets) at --patch (112x112x80), --batch-size 4."""
    from mmengine.registry import init_default_scope

    from visionx.engine.optimizers import CoTrainingOptimWrapperConstructor
    init_default_scope('visionx')
    device = _device(args)
    patch, batch = _shape(args, 'patch', PATCH), _arg(args, 'batch_size', 4)
    model = _model(device, patch)
    sgd = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
    wrappers = CoTrainingOptimWrapperConstructor(dict(net1=sgd, net2=sgd))(model)
    data = _train_batch(device, patch, batch)
    res = measure(lambda: model.train_step(data, wrappers), case='tracoco_train_step', unit='steps',
                  iters=_arg(args, 'iters', 3), warmup=_arg(args, 'warmup', 1), device=device,
                  extra=dict(patch=patch, batch=batch,
                             params_per_net=sum(p.numel() for p in model.net1.parameters())))
    return [res]


SLIDING_VARIANTS = ('fp32', 'serial', 'bf16', 'auto')


@register_case('tracoco_sliding_window')
def sliding_window_case(args: argparse.Namespace | None = None) -> list[BenchResult]:
    """Sliding-window inference of one LA-sized volume: fp32 batched (baseline), serial (official), bf16."""
    from visionx.models.medical import sliding_window_predict
    from visionx.utils.precision import autocast, resolve_precision
    device = _device(args)
    patch, shape = _shape(args, 'patch', PATCH), _shape(args, 'volume', LA_VOLUME)
    variants = list(_arg(args, 'variants', None) or default_variants(('fp32', 'serial', 'bf16'), device))
    unknown = [v for v in variants if v not in SLIDING_VARIANTS]
    if unknown:
        raise ConfigError(f'unknown tracoco_sliding_window variants {unknown}; known: {", ".join(SLIDING_VARIANTS)}')
    model = _model(device, patch).eval()
    volume = torch.rand(1, *shape, generator=torch.Generator().manual_seed(0)).to(device)
    window_batch = _arg(args, 'window_batch', 4)
    runs, labels, extra = {}, {}, {}
    for name in variants:
        precision = resolve_precision('fp32' if name == 'serial' else name, device)
        bs = 1 if name == 'serial' else window_batch

        def run(bs=bs, precision=precision):
            with torch.inference_mode(), autocast(precision, device):
                return sliding_window_predict(model.net1, volume, patch, (18, 18, 4), 2, batch_size=bs)
        labels[name] = run().argmax(0)
        runs[name] = run
        extra[name] = dict(volume=shape, patch=patch, strides=(18, 18, 4), window_batch=bs, precision=precision,
                           label_diff_vs_first=float((labels[name] != labels[variants[0]]).float().mean()))
    return measure_interleaved(runs, case='tracoco_sliding_window', unit='volumes', rounds=_arg(args, 'iters', 3),
                               warmup=_arg(args, 'warmup', 1), device=device, extra=extra)
