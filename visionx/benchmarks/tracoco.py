"""Benchmark cases for TraCoCo.

* ``tracoco_train_step``: one co-training iteration (pseudo-labels, both networks' forward / backward /
  SGD step) of the paper-size V-Net pair at 112 × 112 × 80, batch 4 (2 labelled + 2 unlabelled).
* ``tracoco_sliding_window``: sliding-window inference of one paper-size V-Net over an LA-sized volume
  (144 × 144 × 88 here; LA's pre-processed volumes are of this order) with the official strides
  (18, 18, 4), windows batched ``--tracoco-window-batch`` at a time (default 4; the official code runs them
  one by one, which is also measured as ``tracoco_sliding_window_serial``).
"""
from __future__ import annotations

import argparse

import torch

from visionx.benchmarks import BenchResult, measure, register_case

PATCH = (112, 112, 80)
LA_VOLUME = (144, 144, 88)


def _arg(args: argparse.Namespace | None, name: str, default):
    return getattr(args, name, default) if args is not None else default


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
    """One TraCoCo co-training step (two V-Nets) at 112x112x80, batch 4."""
    from mmengine.registry import init_default_scope

    from visionx.engine.optimizers import CoTrainingOptimWrapperConstructor
    init_default_scope('visionx')
    device = _device(args)
    model = _model(device, PATCH)
    sgd = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
    wrappers = CoTrainingOptimWrapperConstructor(dict(net1=sgd, net2=sgd))(model)
    data = _train_batch(device, PATCH)
    iters = _arg(args, 'iters', 3)
    res = measure(lambda: model.train_step(data, wrappers), case='tracoco_train_step', unit='steps',
                  iters=iters, warmup=_arg(args, 'warmup', 1), device=device,
                  extra=dict(patch=PATCH, batch=4, params_per_net=sum(p.numel() for p in model.net1.parameters())))
    return [res]


@register_case('tracoco_sliding_window')
def sliding_window_case(args: argparse.Namespace | None = None) -> list[BenchResult]:
    """Sliding-window inference of one LA-sized volume, windows batched vs one by one (official)."""
    from visionx.models.medical import sliding_window_predict
    device = _device(args)
    model = _model(device, PATCH).eval()
    volume = torch.rand(1, *LA_VOLUME, device=device)
    iters, warmup = _arg(args, 'iters', 3), _arg(args, 'warmup', 1)
    out = []
    for name, bs in (('tracoco_sliding_window', _arg(args, 'tracoco_window_batch', 4)),
                     ('tracoco_sliding_window_serial', 1)):
        def run(bs=bs):
            with torch.inference_mode():
                return sliding_window_predict(model.net1, volume, PATCH, (18, 18, 4), 2, batch_size=bs)
        out.append(measure(run, case=name, unit='volumes', iters=iters, warmup=warmup, device=device,
                           extra=dict(volume=LA_VOLUME, patch=PATCH, strides=(18, 18, 4), window_batch=bs)))
    return out
