#!/usr/bin/env python
"""Measure throughput, latency percentiles and peak memory; compare variants interleaved.

    python tools/benchmark.py CONFIG [--checkpoint CKPT] [--mode train|infer] [--batch-size N] [--iters N]
                                     [--variants fp32,bf16]
    python tools/benchmark.py --case NAME [--case NAME ...] [--threads N] [--iters ROUNDS] [case flags]
    python tools/benchmark.py --list-cases

CONFIG mode takes one batch from the config's train (``--mode train``: forward, backward, optimizer step)
or test dataloader (``--mode infer``: ``test_step`` under ``torch.inference_mode``) and times it
``--iters`` times after ``--warmup`` untimed calls; ``--mode infer --variants fp32,bf16`` times the
precisions interleaved.

Cases take their sizes from flags (``--sizes``, ``--batches``, ``--points``, ``--queries``, ``--volume``,
``--patch``, ``--window-batch``, ``--losses``; see ``--help`` and each case's docstring) and most run
their ``--variants`` interleaved (A B C, C B A, ...; :mod:`visionx.benchmarks.interleave`), printing each
variant's speed-up against the case's fp32-eager baseline as the median ratio of times taken in the same
round.  Quote only those ratios: absolute times depend on the machine's load, printed before and after.
Prints a table, the ratios, then the rows as JSON (also written to ``--out`` when given, each row with a
``machine`` entry: CPU, threads, load averages before and after).
"""
import argparse
import copy
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402

from visionx.utils.cli import run_tool  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark VisionX models')
    parser.add_argument('config', nargs='?', help='config file path')
    parser.add_argument('--checkpoint', help='load these weights first (must match the model)')
    parser.add_argument('--mode', choices=['train', 'infer'], default='infer')
    parser.add_argument('--batch-size', type=int, help='override the dataloader batch size')
    parser.add_argument('--iters', type=int, help='timed iterations (CONFIG: 10; cases: see each case)')
    parser.add_argument('--warmup', type=int, help='untimed warm-up iterations (CONFIG: 2; cases: see each case)')
    parser.add_argument('--device', default=None, help='cpu or cuda (default: cuda when available)')
    parser.add_argument('--threads', type=int, help='torch CPU threads')
    parser.add_argument('--case', action='append', help='run a registered benchmark case')
    parser.add_argument('--list-cases', action='store_true', help='list the registered cases')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    parser.add_argument('--out', help='write the rows as JSON to this file')
    case = parser.add_argument_group('case sizes and variants')
    case.add_argument('--variants', type=_str_list, help='comma list of variants to run interleaved (see the '
                      "case's docstring; the first is the baseline unless the case fixes it)")
    case.add_argument('--sizes', type=_int_list, help='image sides (BASNet, TopoMortar), resolutions '
                      '(GridFormer meshing), comma list')
    case.add_argument('--batches', type=_int_list, help='batch sizes of inference grids (BASNet), comma list')
    case.add_argument('--points', type=int, help='GridFormer input points per shape (default 3000)')
    case.add_argument('--queries', type=int, help='GridFormer query points per shape (default: 2048 per '
                      'training step, 100000 per decoder call)')
    case.add_argument('--volume-model', action='store_true', help='GridFormer: the 64^3 volume encoder '
                      'instead of the 3 planes')
    case.add_argument('--volume', type=_int_list, help='TraCoCo volume X,Y,Z for sliding-window inference '
                      '(default 144,144,88)')
    case.add_argument('--patch', type=_int_list, help='TraCoCo patch X,Y,Z (default 112,112,80)')
    case.add_argument('--window-batch', type=int, help='TraCoCo windows per forward pass (default 4)')
    case.add_argument('--losses', type=_str_list, help='TopoMortar loss names, comma list')
    args = parser.parse_args(argv)
    for name in ('iters', 'warmup'):
        if getattr(args, name) is not None and getattr(args, name) < (1 if name == 'iters' else 0):
            parser.error(f'--{name} must be >= {1 if name == "iters" else 0}')
    return args


def _str_list(text: str) -> list[str]:
    return [v.strip() for v in text.split(',') if v.strip()]


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in _str_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected comma-separated integers, got {text!r}') from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f'expected positive integers, got {text!r}')
    return values


def benchmark_config(args, device):
    import torch
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from visionx.benchmarks import measure
    from visionx.registry import MODELS
    from visionx.utils import ConfigError, check_checkpoint_matches, check_data_roots, load_config

    cfg = load_config(args.config, args.cfg_options)
    split = 'train' if args.mode == 'train' else 'test'
    check_data_roots(cfg, splits=(split,))
    init_default_scope(cfg.get('default_scope', 'visionx'))
    model = MODELS.build(cfg.model)
    if args.checkpoint:
        check_checkpoint_matches(model, args.checkpoint)
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.to(device)

    loader_cfg = dict(cfg[f'{split}_dataloader'])
    if args.batch_size:
        loader_cfg['batch_size'] = args.batch_size
    loader_cfg['num_workers'] = 0
    loader_cfg.pop('persistent_workers', None)
    batch = next(iter(Runner.build_dataloader(loader_cfg, seed=0)))
    batch_size = loader_cfg.get('batch_size', 1)

    if args.mode == 'train':
        model.train()
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)

        def step():
            return model.train_step(batch, optim_wrapper)
    else:
        model.eval()

        def step():
            with torch.inference_mode():
                return model.test_step(batch)

    name = f'{os.path.splitext(os.path.basename(args.config))[0]}:{args.mode}:bs{batch_size}'
    params = sum(p.numel() for p in model.parameters())
    if args.variants:
        if args.mode != 'infer':
            raise ConfigError('--variants (precisions) applies to --mode infer')
        return _config_precisions(args, model, batch, name, batch_size, device, params)
    res = measure(step, case=name, unit='samples', items_per_iter=batch_size, iters=args.iters,
                  warmup=args.warmup, device=device, extra=dict(params=params))
    return [res]


def _config_precisions(args, model, batch, name, batch_size, device, params):
    """``test_step`` at each precision of ``--variants`` (fp32 first), interleaved, on model copies."""
    import copy

    import torch

    from visionx.benchmarks.interleave import measure_interleaved
    from visionx.utils import ConfigError
    from visionx.utils.precision import resolve_precision, wrap_test_step
    if args.variants[0] != 'fp32':
        raise ConfigError('--variants in CONFIG mode: the first must be fp32 (the baseline)')
    steps = {}
    for variant in args.variants:
        m = wrap_test_step(copy.deepcopy(model), resolve_precision(variant, device), device)

        def step(m=m):
            with torch.inference_mode():
                return m.test_step(batch)
        steps[variant] = step
    return measure_interleaved(steps, case=name, unit='samples', items_per_iter=batch_size, rounds=args.iters,
                               warmup=args.warmup, device=device,
                               extra={v: dict(params=params) for v in steps})


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from visionx.benchmarks import format_table, load_cases, to_json
    from visionx.utils import ConfigError, atomic_write_text

    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f'--threads must be >= 1, got {args.threads}')
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    args.device = str(device)
    if args.list_cases:
        for name, fn in sorted(load_cases().items()):
            print(f'{name:40s} {(fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""}')
        return 0
    if not args.config and not args.case:
        raise ConfigError('give a CONFIG or at least one --case NAME (see --list-cases)')

    from visionx.benchmarks.interleave import format_ratios, machine_info
    before = machine_info()
    print('machine:', ', '.join(f'{k}={v}' for k, v in before.items()), flush=True)
    results = []
    if args.config:
        config_args = copy.copy(args)  # CONFIG mode's own defaults; the cases keep theirs (None = case default)
        config_args.iters = 10 if args.iters is None else args.iters
        config_args.warmup = 2 if args.warmup is None else args.warmup
        results += benchmark_config(config_args, device)
    if args.case:
        cases = load_cases()
        for name in args.case:
            if name not in cases:
                raise ConfigError(f'unknown benchmark case {name!r}; known: {sorted(cases)}')
            results += cases[name](args)
    rows = [r.summary() for r in results]
    after = machine_info()
    print(format_table(rows))
    ratios = format_ratios(rows)
    if ratios:
        print(ratios)
    print(f'load average before {before.get("loadavg")}, after {after.get("loadavg")} (1/5/15 min; '
          f'{before["cores"]} cores)')
    print(to_json(rows))
    if args.out:
        machine = dict(before, loadavg_after=after.get('loadavg'))
        atomic_write_text(args.out, to_json([dict(r, machine=machine) for r in rows]) + '\n')
    return 0


if __name__ == '__main__':
    run_tool(main)
