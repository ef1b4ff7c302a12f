"""Benchmark cases of BASNet inference (``tools/benchmark.py --case basnet_infer``).

Images/s and latency at 256^2 and 320^2, batch 1 and 8, for several execution variants of the same
87,060,360-parameter network (random weights; speed does not depend on them):

* CPU: ``eager`` (fp32, ``no_grad``, BN unfused, NCHW: the computation the official ``basnet_test.py``
  performs), ``fused`` (``inference_mode`` + Conv-BN folding), ``fused-cl`` (+ channels-last).
* GPU: ``fp32``, ``fp32-fused-cl``, ``fp16`` and ``bf16`` (autocast, fused, channels-last) and
  ``compile-bf16`` (``torch.compile`` of the bf16 variant).

Every variant also reports ``max_abs_diff``: the largest difference of its refined probability map from
the ``eager`` / ``fp32`` reference on the same input.

Environment knobs (the full CPU grid takes minutes on 2 cores): ``BASNET_BENCH_SIZES`` (``256,320``),
``BASNET_BENCH_BATCHES`` (``1,8``), ``BASNET_BENCH_VARIANTS`` (comma list), ``BASNET_BENCH_ITERS``.
"""
from __future__ import annotations

import copy
import os
from typing import Callable

import torch

from . import BenchResult, measure, register_case

CPU_VARIANTS = ('eager', 'fused', 'fused-cl')
GPU_VARIANTS = ('fp32', 'fp32-fused-cl', 'fp16', 'bf16', 'compile-bf16')


def _env_list(name: str, default: str) -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(',') if v.strip()]


def _build_model() -> torch.nn.Module:
    from visionx.models.salient.basnet import BASNet
    torch.manual_seed(0)
    return BASNet(encoder=dict(type='BASNetEncoder', init_cfg=None)).eval()


def _variant(base: torch.nn.Module, name: str, device: torch.device) -> tuple[torch.nn.Module, Callable]:
    """A model copy and a ``forward(x) -> refined probability`` closure for variant ``name``."""
    from visionx.models.salient.basnet import fuse_conv_bn_
    model = copy.deepcopy(base).to(device).eval()
    fused = name not in ('eager', 'fp32')
    channels_last = name.endswith('-cl') or name in ('fp16', 'bf16', 'compile-bf16')
    if fused:
        model = fuse_conv_bn_(model)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    dtype = {'fp16': torch.float16, 'bf16': torch.bfloat16, 'compile-bf16': torch.bfloat16}.get(name)
    net = model.forward_logits
    if name.startswith('compile'):
        # static shapes: one graph per (size, batch); dynamic batch + channels-last hit an inductor stride bug
        net = torch.compile(model.forward_logits, dynamic=False)
    grad_ctx = torch.no_grad if name == 'eager' else torch.inference_mode

    def run(x: torch.Tensor) -> torch.Tensor:
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with grad_ctx():
            if dtype is not None:
                with torch.autocast(device.type, dtype=dtype):
                    out = net(x)[0]
            else:
                out = net(x)[0]
            return out.float().sigmoid()

    return model, run


def run_grid(device: torch.device, variants: list[str], sizes: list[int], batches: list[int], iters: int,
             warmup: int, model_factory: Callable[[], torch.nn.Module] = _build_model) -> list[BenchResult]:
    """Time every (variant, size, batch) combination; the first variant is the accuracy reference."""
    base = model_factory()
    params = sum(p.numel() for p in base.parameters())
    rows = []
    for size in sizes:
        for batch in batches:
            x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0)).to(device)
            reference = None
            for name in variants:
                try:
                    model, run = _variant(base, name, device)
                    out = run(x)
                except Exception as err:  # noqa: BLE001 - one broken variant must not hide the others
                    print(f'basnet_infer:{name}:{size}px:bs{batch} failed: {type(err).__name__}: {err}'[:300])
                    continue
                if reference is None:
                    reference = out
                diff = float((out - reference).abs().max())
                rows.append(measure(lambda: run(x), case=f'basnet_infer:{name}:{size}px:bs{batch}',
                                    unit='images', items_per_iter=batch, iters=iters, warmup=warmup,
                                    device=device,
                                    extra=dict(variant=name, size=size, batch=batch, params=params,
                                               max_abs_diff=diff)))
                print(rows[-1].summary(), flush=True)
                del model, run
                if device.type == 'cuda':
                    torch.cuda.empty_cache()
    return rows


@register_case('basnet_infer')
def infer_case(args=None) -> list[BenchResult]:
    """BASNet inference grid on the default device (CUDA when available)."""
    device = torch.device(getattr(args, 'device', None) or ('cuda' if torch.cuda.is_available() else 'cpu'))
    gpu = device.type == 'cuda'
    variants = _env_list('BASNET_BENCH_VARIANTS', ','.join(GPU_VARIANTS if gpu else CPU_VARIANTS))
    unknown = set(variants) - set(CPU_VARIANTS + GPU_VARIANTS)
    if unknown:
        raise ValueError(f'unknown BASNET_BENCH_VARIANTS {sorted(unknown)}; known: {CPU_VARIANTS + GPU_VARIANTS}')
    sizes = [int(v) for v in _env_list('BASNET_BENCH_SIZES', '256,320')]
    batches = [int(v) for v in _env_list('BASNET_BENCH_BATCHES', '1,8')]
    iters = int(os.environ.get('BASNET_BENCH_ITERS', '20' if gpu else '3'))
    warmup = 5 if gpu else 1
    return run_grid(device, variants, sizes, batches, iters, warmup)
