"""Interleaved timing of a case's variants, ratios against its fp32-eager baseline, and the machine's load.

On a shared machine the load changes within seconds, so timings of two variants taken one after the other
(or on different days) are not comparable.  :func:`measure_interleaved` times the variants in rounds —
round 0 runs A B C, round 1 C B A, round 2 A B C ... (alternating the order cancels a linear drift of the
load within a round) — and reports for every variant the **paired ratio**: the median over rounds of
``t_baseline / t_variant`` measured in the same round.  A ratio above 1 means the variant is faster.

Only these ratios are meant to be quoted; absolute figures from different runs are not comparable.
"""
from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import BenchResult, PeakMemory

__all__ = ['measure_interleaved', 'machine_info', 'format_ratios', 'default_variants']


def measure_interleaved(variants: dict[str, Callable[[], object]], *, case: str, unit: str,
                        items_per_iter: float = 1, rounds: int = 5, warmup: int = 1,
                        device: torch.device | str = 'cpu', baseline: str | None = None,
                        extra: dict[str, dict] | None = None) -> list[BenchResult]:
    """Time ``variants`` interleaved; one :class:`BenchResult` per variant, case ``f'{case}:{name}'``.

    Args:
        variants: Name -> zero-argument callable running one iteration (insertion order is the order).
        case: Case name prefix.
        unit: What one item is (``'images'``, ``'steps'`` ...).
        items_per_iter: Items processed per call.
        rounds: Timed calls per variant.
        warmup: Untimed calls per variant before timing (each variant alone; its peak memory is measured
            over these calls, as it is the only one running then).
        device: Device (CUDA is synchronised around each call).
        baseline: Name of the reference variant (default: the first).
        extra: Per-variant extra fields for the rows.

    Returns:
        Rows whose ``extra`` holds ``variant``, ``baseline``, ``speedup`` (median paired ratio
        ``t_baseline / t_variant``; 1.0 for the baseline itself) and ``rounds``.
    """
    names = list(variants)
    if not names:
        return []
    baseline = baseline or names[0]
    if baseline not in variants:
        raise KeyError(f'baseline {baseline!r} is not one of the variants {names}')
    device = torch.device(device)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == 'cuda' else (lambda: None)
    peaks = {}
    for name in names:
        with PeakMemory(device) as mem:
            for _ in range(warmup):
                variants[name]()
            sync()
        peaks[name] = mem.peak_mb if warmup else float('nan')
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            sync()
            t0 = time.perf_counter()
            variants[name]()
            sync()
            times[name].append(time.perf_counter() - t0)
    base = np.asarray(times[baseline])
    rows = []
    for name in names:
        ratio = float(np.median(base / np.asarray(times[name])))
        info = dict(variant=name, baseline=baseline, speedup=round(ratio, 3), rounds=rounds)
        info.update((extra or {}).get(name, {}))
        rows.append(BenchResult(f'{case}:{name}', unit, items_per_iter, times[name], peaks[name], str(device),
                                info))
    return rows


def machine_info() -> dict:
    """CPU model, core count, torch threads, CPU bf16 support and the 1/5/15-minute load averages."""
    from visionx.utils.precision import cpu_has_fast_bf16
    model = platform.processor() or platform.machine()
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    info = dict(cpu=model, cores=os.cpu_count(), torch_threads=torch.get_num_threads(),
                cpu_fast_bf16=cpu_has_fast_bf16(), torch=torch.__version__)
    if torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name()
    try:
        info['loadavg'] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    return info


def format_ratios(rows: list[dict]) -> str:
    """Rows with a ``speedup`` as ``case  variant  speedup vs baseline`` lines ('' when there are none)."""
    lines = [f'{r["case"]:48s} {r["speedup"]:6.2f}x vs {r["baseline"]}' for r in rows if 'speedup' in r]
    return '\n'.join(['speed-up (median paired ratio, > 1 = faster than the baseline):', *lines]) if lines else ''


def default_variants(variants: tuple[str, ...], device: torch.device | str) -> list[str]:
    """``variants`` without the bf16 ones on a CPU lacking AMX / AVX-512 BF16 (emulated bf16 is slow on this
    project's AVX2 CPU: 0.12x fp32 for BASNet inference at 256², batch 1, 0.03x for a small GridFormer
    training step; see configs/basnet/README.md and configs/gridformer/README.md)."""
    from visionx.utils.precision import cpu_has_fast_bf16
    if torch.device(device).type == 'cpu' and not cpu_has_fast_bf16():
        return [v for v in variants if 'bf16' not in v]
    return list(variants)
