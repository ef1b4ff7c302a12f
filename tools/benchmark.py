#!/usr/bin/env python
"""Measure throughput, latency percentiles and peak memory.

    python tools/benchmark.py CONFIG [--checkpoint CKPT] [--mode train|infer] [--batch-size N] [--iters N]
    python tools/benchmark.py --case NAME [--case NAME ...]      # method-specific cases
    python tools/benchmark.py --list-cases

CONFIG mode takes one batch from the config's train (``--mode train``: forward, backward, optimizer step)
or test dataloader (``--mode infer``: ``test_step`` under ``torch.inference_mode``) and times it
``--iters`` times after ``--warmup`` untimed calls.  Prints a table, then the rows as JSON (also written to
``--out`` when given).
"""
import argparse
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
    parser.add_argument('--iters', type=int, default=10, help='timed iterations')
    parser.add_argument('--warmup', type=int, default=2, help='untimed warm-up iterations')
    parser.add_argument('--device', default=None, help='cpu or cuda (default: cuda when available)')
    parser.add_argument('--threads', type=int, help='torch CPU threads')
    parser.add_argument('--case', action='append', help='run a registered benchmark case')
    parser.add_argument('--list-cases', action='store_true', help='list the registered cases')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    parser.add_argument('--out', help='write the rows as JSON to this file')
    return parser.parse_args(argv)


def benchmark_config(args, device):
    import torch
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from visionx.benchmarks import measure
    from visionx.registry import MODELS
    from visionx.utils import check_checkpoint_matches, check_data_roots, load_config

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
    res = measure(step, case=name, unit='samples', items_per_iter=batch_size, iters=args.iters,
                  warmup=args.warmup, device=device,
                  extra=dict(params=sum(p.numel() for p in model.parameters())))
    return [res]


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from visionx.benchmarks import format_table, load_cases, to_json
    from visionx.utils import ConfigError, atomic_write_text

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    args.device = str(device)
    if args.list_cases:
        for name, fn in sorted(load_cases().items()):
            print(f'{name:40s} {(fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""}')
        return 0
    if not args.config and not args.case:
        raise ConfigError('give a CONFIG or at least one --case NAME (see --list-cases)')

    results = []
    if args.config:
        results += benchmark_config(args, device)
    if args.case:
        cases = load_cases()
        for name in args.case:
            if name not in cases:
                raise ConfigError(f'unknown benchmark case {name!r}; known: {sorted(cases)}')
            results += cases[name](args)
    rows = [r.summary() for r in results]
    print(format_table(rows))
    print(to_json(rows))
    if args.out:
        atomic_write_text(args.out, to_json(rows) + '\n')
    return 0


if __name__ == '__main__':
    run_tool(main)
