"""Benchmark core: timing with warm-up, latency percentiles, peak memory, and a registry of cases.

A *case* is a function ``case(args) -> list[BenchResult]`` registered with :func:`register_case`; each
method adds its cases in ``visionx/benchmarks/<method>.py``.  ``tools/benchmark.py --case NAME`` runs them.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

BENCHMARK_CASES: dict[str, Callable] = {}
_CASE_MODULES = ('basnet', 'bpkd', 'ciss', 'gridformer', 'repri', 'topomortar', 'tracoco')


def register_case(name: str) -> Callable:
    """Decorator registering a benchmark case under ``name``."""

    def wrap(fn: Callable) -> Callable:
        if name in BENCHMARK_CASES:
            raise KeyError(f'benchmark case {name!r} is registered twice')
        BENCHMARK_CASES[name] = fn
        return fn

    return wrap


def load_cases() -> dict[str, Callable]:
    """Import every method's case module and return the registry."""
    for mod in _CASE_MODULES:
        importlib.import_module(f'{__name__}.{mod}')
    return BENCHMARK_CASES


@dataclasses.dataclass
class BenchResult:
    """One row of the benchmark table.

    ``throughput`` is items per second, where an item is what ``unit`` says (images, points, steps...).
    """
    case: str
    unit: str
    items_per_iter: float
    latencies_s: list[float]
    peak_mem_mb: float
    device: str
    extra: dict = dataclasses.field(default_factory=dict)

    def summary(self) -> dict:
        lat = np.asarray(self.latencies_s)
        return {
            'case': self.case,
            'device': self.device,
            'iters': len(lat),
            'throughput': float(self.items_per_iter / np.median(lat)),
            'unit': f'{self.unit}/s',
            'latency_p50_s': float(np.percentile(lat, 50)),
            'latency_p90_s': float(np.percentile(lat, 90)),
            'latency_mean_s': float(lat.mean()),
            'peak_mem_mb': round(self.peak_mem_mb, 1),
            **self.extra,
        }


class PeakMemory:
    """Peak memory of a block: CUDA allocator peak on GPU, resident-set high-water mark on CPU.

    On Linux the RSS high-water mark (``VmHWM``) is reset by writing ``5`` to ``/proc/self/clear_refs``,
    so each case reports its own peak rather than the process's lifetime peak.
    """

    def __init__(self, device: torch.device | str):
        self.device = torch.device(device)
        self.peak_mb = float('nan')

    def __enter__(self) -> 'PeakMemory':
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            try:
                Path('/proc/self/clear_refs').write_text('5')
            except OSError:
                pass
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            self.peak_mb = torch.cuda.max_memory_allocated(self.device) / 2**20
            return
        try:
            for line in Path('/proc/self/status').read_text().splitlines():
                if line.startswith('VmHWM:'):
                    self.peak_mb = int(line.split()[1]) / 1024
        except OSError:
            import resource
            self.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(fn: Callable[[], object], *, case: str, unit: str, items_per_iter: float = 1,
            iters: int = 10, warmup: int = 2, device: torch.device | str = 'cpu',
            extra: dict | None = None) -> BenchResult:
    """Time ``fn`` ``iters`` times after ``warmup`` untimed calls; synchronise CUDA around each call."""
    device = torch.device(device)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == 'cuda' else (lambda: None)
    with PeakMemory(device) as mem:
        for _ in range(warmup):
            fn()
        sync()
        latencies = []
        for _ in range(iters):
            t0 = time.perf_counter()
            fn()
            sync()
            latencies.append(time.perf_counter() - t0)
    return BenchResult(case, unit, items_per_iter, latencies, mem.peak_mb, str(device), extra or {})


def format_table(rows: list[dict]) -> str:
    """Render benchmark summaries as a plain-text table."""
    cols = ['case', 'device', 'iters', 'throughput', 'unit', 'latency_p50_s', 'latency_p90_s',
            'peak_mem_mb']
    cells = [[_fmt(r.get(c, '')) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ['  '.join(c.ljust(w) for c, w in zip(cols, widths))]
    lines.append('  '.join('-' * w for w in widths))
    lines += ['  '.join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return '\n'.join(lines)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f'{v:.4g}'
    return str(v)


def to_json(rows: list[dict]) -> str:
    return json.dumps(rows, indent=2)
