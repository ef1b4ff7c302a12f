#!/usr/bin/env python
"""Where a GridFormer training step spends its time, and how close its convolutions run to the machine.

    python tools/analysis/profile_gridformer_step.py [--threads 1] [--batch-size 4] [--points 3000]
        [--queries 2048] [--resolution 64] [--iters 3] [--out FILE.json]

Builds the paper's 3-plane model (``--resolution`` R, the widths of the paper) on random points, runs one
untimed warm-up step (forward, backward, Adam) and then:

* ``step_s``: the median wall time of ``--iters`` steps;
* ``profile``: one step under ``torch.profiler`` (CPU), its self time grouped into ``convolution`` (every
  ``*conv*`` op, forward and backward), ``matmul`` (``mm``, ``addmm``, ``bmm``), ``grid_sample`` (forward
  and backward), ``scatter_gather`` and ``other``, with each group's share of the total;
* ``flops``: one step under ``torch.utils.flop_counter.FlopCounterMode`` (with a groups-aware count of the
  convolution backward, :func:`grouped_conv_backward_flop`): GFLOP of convolutions (forward + backward) and
  matrix products, and the rate each group ran at (GFLOP / its profiled self time);
* ``sgemm_gflops``: the best of 5 products of two ``--sgemm-size`` (2048) square fp32 matrices on the same
  threads, a practical ceiling for the convolutions' rate on this machine.

The table in ``configs/gridformer/README.md`` (issue 12, item 3) comes from this tool.
"""
from __future__ import annotations

import argparse
import os.path as osp
import statistics
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from visionx.utils.cli import run_tool  # noqa: E402

GROUPS = ('convolution', 'matmul', 'grid_sample', 'scatter_gather', 'other')


def op_group(name: str) -> str:
    """The group of a profiler event (``aten::mm``) or FLOP-counter op (``aten.mm``, ``aten.mm.default``)."""
    op = name.split('::')[-1]
    if op.startswith('aten.'):
        op = op[len('aten.'):].split('.')[0]
    if 'conv' in op:
        return 'convolution'
    if op in ('mm', 'addmm', 'bmm', 'matmul', 'linear'):
        return 'matmul'
    if op.startswith('grid_sampler'):
        return 'grid_sample'
    if 'scatter' in op or op in ('gather', 'index_select', 'index_add_', 'index_add'):
        return 'scatter_gather'
    return 'other'


def grouped_conv_backward_flop(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed,
                               _output_padding, _groups, output_mask, out_shape=None, **kwargs) -> int:
    """FLOPs of ``aten.convolution_backward``: the input and the weight gradient (each one the multiply-adds
    of the forward convolution, groups included) as ``output_mask`` asks for them.  Replaces torch's formula,
    which ignores ``groups`` in the backward and counts a depthwise 3x3 backward 4.5x too high."""
    from torch.utils.flop_counter import conv_flop_count
    forward = conv_flop_count(x_shape, w_shape, grad_out_shape, transposed)
    return forward * (int(bool(output_mask[0])) + int(bool(output_mask[1])))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--batch-size', type=int, default=4)
    p.add_argument('--points', type=int, default=3000)
    p.add_argument('--queries', type=int, default=2048)
    p.add_argument('--resolution', type=int, default=64, help='plane resolution R (paper 64)')
    p.add_argument('--iters', type=int, default=3, help='timed steps (median)')
    p.add_argument('--sgemm-size', type=int, default=2048, help='side of the SGEMM ceiling measurement')
    p.add_argument('--out', help='write the report as JSON (atomically)')
    return p.parse_args(argv)


def profile_step(args) -> dict:
    import torch
    from torch.profiler import ProfilerActivity, profile
    from torch.utils.flop_counter import FlopCounterMode

    from visionx.registry import MODELS
    from visionx.utils import ConfigError
    if min(args.threads, args.batch_size, args.points, args.queries, args.iters, args.sgemm_size) < 1:
        raise ConfigError('--threads, --batch-size, --points, --queries, --iters and --sgemm-size must be >= 1')
    if args.resolution < 4 or args.resolution % 4:
        raise ConfigError(f'--resolution must be a positive multiple of 4 (two poolings), got {args.resolution}')
    if args.out:
        from visionx.utils import check_output_path
        check_output_path(args.out, '--out')
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = MODELS.build(dict(type='GridFormer', encoder=dict(resolution=args.resolution), decoder=dict()))
    model.train()
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(args.batch_size, args.points, 3, generator=gen) - 0.5
    samples = dict(points=torch.rand(args.batch_size, args.queries, 3, generator=gen) - 0.5,
                   points_occ=(torch.rand(args.batch_size, args.queries, generator=gen) > 0.5).float())

    def step():
        loss = model(x, samples, mode='loss')['loss_occ']
        opt.zero_grad()
        loss.backward()
        opt.step()

    print(f'warm-up step, then {args.iters} timed step(s), one profiled, one counted ...', file=sys.stderr,
          flush=True)
    step()  # warm-up
    times = []
    for _ in range(args.iters):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    self_us = dict.fromkeys(GROUPS, 0.0)
    for ev in prof.key_averages():  # every event's self time once: the groups add up to the profiled step
        self_us[op_group(ev.key)] += ev.self_cpu_time_total
    total_s = sum(self_us.values()) / 1e6
    counter = FlopCounterMode(display=False,
                              custom_mapping={torch.ops.aten.convolution_backward: grouped_conv_backward_flop})
    with counter:
        step()
    flops = dict(convolution=0, matmul=0)
    for op, n in counter.get_flop_counts()['Global'].items():
        group = op_group(str(op))
        if group in flops:
            flops[group] += n
    n = args.sgemm_size
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float('inf')
    for _ in range(5):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return dict(
        threads=args.threads, batch=args.batch_size, points=args.points, queries=args.queries,
        resolution=args.resolution, step_s=statistics.median(times), step_times_s=times,
        profile=dict(total_self_s=total_s, **{g: dict(self_s=v / 1e6, share=v / 1e6 / total_s if total_s else 0.0)
                                              for g, v in self_us.items()}),
        flops={g: dict(gflop=n / 1e9, gflops_per_s=n / 1e9 / (self_us[g] / 1e6) if self_us[g] else None)
               for g, n in flops.items()},
        sgemm_size=n, sgemm_gflops=2 * n ** 3 / best / 1e9)


def main(argv=None) -> int:
    args = parse_args(argv)
    report = profile_step(args)
    p = report['profile']
    print(f"GridFormer training step, batch {report['batch']}, {report['points']} / {report['queries']} points, "
          f"R {report['resolution']}, {report['threads']} thread(s): {report['step_s']:.3f} s (median of "
          f"{len(report['step_times_s'])})")
    print(f"profiled step, self time {p['total_self_s']:.3f} s:")
    for g in GROUPS:
        rate = report['flops'].get(g, {})
        extra = (f"  {rate['gflop']:.1f} GFLOP at {rate['gflops_per_s']:.1f} GFLOP/s"
                 if rate.get('gflops_per_s') else '')
        print(f"  {g:15s} {p[g]['self_s']:7.3f} s  {100 * p[g]['share']:5.1f} %{extra}")
    print(f"SGEMM {report['sgemm_size']}^3 on the same threads: {report['sgemm_gflops']:.1f} GFLOP/s")
    if args.out:
        from visionx.utils import atomic_write_json
        atomic_write_json(args.out, report)
        print(f'report written to {args.out}')
    return 0


if __name__ == '__main__':
    run_tool(main)
