"""Benchmark cases of BASNet inference (``tools/benchmark.py --case basnet_infer``).

Images/s of the 87,060,360-parameter network (random weights; speed does not depend on them) for each
(``--sizes``, ``--batches``) pair (default 256 and 320, batch 1 and 8), its ``--variants`` timed
interleaved (:func:`~visionx.benchmarks.interleave.measure_interleaved`), each with its speed-up against
``eager``:

* ``eager``: fp32, ``no_grad``, BN unfused, NCHW - the computation the official ``basnet_test.py``
  performs; the baseline.
* ``fused`` (``inference_mode`` + Conv-BN folding), ``fused-cl`` (+ channels-last).
* ``bf16`` / ``fp16``: autocast, fused, channels-last (fp16: CUDA only); ``bf16-eager``: autocast alone.
* ``auto``: what :class:`~visionx.apis.ObjectCutter` runs with ``precision='auto'`` (fused, channels-last,
  bf16 where :func:`~visionx.utils.precision.resolve_precision` picks it).
* ``compile-bf16``: ``torch.compile`` of the ``bf16`` variant (static shapes); ``compile`` / ``compile-cl``: of
  ``fused`` / ``fused-cl`` (fp32).  Nothing outside this benchmark compiles: on the 2-core AVX2 CPU (1 thread,
  256 px) ``compile`` measured 1.02x ``eager`` at batch 1 (``fused`` 0.97x), and ``compile-cl`` 1.32x at
  batch 8 against ``fused-cl``'s 1.28x (1.03x, within the run-to-run spread), after minutes of compiling; so
  no ``--compile`` flag was added to the tools.

Default variants: ``eager,fused-cl,bf16`` on CPU, ``eager,fused-cl,bf16,fp16,compile-bf16`` on CUDA; bf16
variants are left out of the defaults on a CPU without AMX / AVX-512 BF16, where bf16 is emulated and several
times slower than fp32 (ask for them with ``--variants``).
Every variant also reports ``max_abs_diff``: the largest difference of its refined probability map from
``eager`` on the same input.
"""
from __future__ import annotations

import copy
from typing import Callable

import torch

from visionx.utils import ConfigError

from . import BenchResult, register_case
from .interleave import default_variants, measure_interleaved

#: name -> (precision, fuse Conv-BN, channels-last, torch.compile)
VARIANTS = {
    'eager': ('fp32', False, False, False),
    'fused': ('fp32', True, False, False),
    'fused-cl': ('fp32', True, True, False),
    'bf16-eager': ('bf16', False, False, False),
    'bf16': ('bf16', True, True, False),
    'fp16': ('fp16', True, True, False),
    'auto': ('auto', True, True, False),
    'compile-bf16': ('bf16', True, True, True),
    'compile': ('fp32', True, False, True),
    'compile-cl': ('fp32', True, True, True),
}
CPU_VARIANTS = ('eager', 'fused-cl', 'bf16')  # bf16 dropped by default on CPUs without fast bf16
GPU_VARIANTS = ('eager', 'fused-cl', 'bf16', 'fp16', 'compile-bf16')


def _build_model() -> torch.nn.Module:
    from visionx.models.salient.basnet import BASNet
    torch.manual_seed(0)
    return BASNet(encoder=dict(type='BASNetEncoder', init_cfg=None)).eval()


def _variant(base: torch.nn.Module, name: str, device: torch.device) -> tuple[torch.nn.Module, Callable]:
    """A model copy and a ``forward(x) -> refined probability`` closure for variant ``name``."""
    from visionx.models.salient.basnet import fuse_conv_bn_
    from visionx.utils.precision import autocast, resolve_precision
    precision, fused, channels_last, compiled = VARIANTS[name]
    precision = resolve_precision(precision, device)
    model = copy.deepcopy(base).to(device).eval()
    if fused:
        model = fuse_conv_bn_(model)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    net = model.forward_logits
    if compiled:
        # static shapes: one graph per (size, batch); dynamic batch + channels-last hit an inductor stride bug
        net = torch.compile(model.forward_logits, dynamic=False)
    grad_ctx = torch.no_grad if name == 'eager' else torch.inference_mode

    def run(x: torch.Tensor) -> torch.Tensor:
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with grad_ctx(), autocast(precision, device):
            out = net(x)[0]
        return out.float().sigmoid()

    return model, run


def run_grid(device: torch.device, variants: list[str], sizes: list[int], batches: list[int], iters: int,
             warmup: int, model_factory: Callable[[], torch.nn.Module] = _build_model) -> list[BenchResult]:
    """Time the variants interleaved for every (size, batch); speed-ups and differences against ``eager``.

    ``eager`` is always run (added first when missing): it is the baseline.
    """
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ConfigError(f'unknown basnet_infer variants {unknown}; known: {", ".join(VARIANTS)}')
    variants = ['eager', *[v for v in variants if v != 'eager']]
    base = model_factory()
    params = sum(p.numel() for p in base.parameters())
    rows = []
    for size in sizes:
        for batch in batches:
            x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0)).to(device)
            runs, extra, reference = {}, {}, None
            for name in variants:
                model, run = _variant(base, name, device)
                out = run(x)
                if reference is None:
                    reference = out
                runs[name] = (lambda run=run: run(x))
                extra[name] = dict(size=size, batch=batch, params=params,
                                   max_abs_diff=float((out - reference).abs().max()))
            rows += measure_interleaved(runs, case=f'basnet_infer:{size}px:bs{batch}', unit='images',
                                        items_per_iter=batch, rounds=iters, warmup=warmup, device=device,
                                        baseline='eager', extra=extra)
            for r in rows[-len(runs):]:
                print(r.summary(), flush=True)
            del runs
            if device.type == 'cuda':
                torch.cuda.empty_cache()
    return rows


@register_case('basnet_infer')
def infer_case(args=None) -> list[BenchResult]:
    """BASNet inference variants interleaved per size / batch (--sizes 256,320 --batches 1,8 --variants ...)."""
    device = torch.device(getattr(args, 'device', None) or ('cuda' if torch.cuda.is_available() else 'cpu'))
    gpu = device.type == 'cuda'
    variants = getattr(args, 'variants', None) or default_variants(GPU_VARIANTS if gpu else CPU_VARIANTS, device)
    sizes = getattr(args, 'sizes', None) or [256, 320]
    batches = getattr(args, 'batches', None) or [1, 8]
    iters = getattr(args, 'iters', None) or (20 if gpu else 3)
    warmup = getattr(args, 'warmup', None)
    warmup = (5 if gpu else 1) if warmup is None else warmup
    return run_grid(device, variants, sizes, batches, iters, warmup)
