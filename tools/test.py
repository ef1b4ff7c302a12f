#!/usr/bin/env python
"""Evaluate a checkpoint on a config's test set (MMEngine runner).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.json] [--show-dir DIR]
                                           [--data-root DIR] [--cfg-options k=v ...]
                                           [--launcher none|pytorch|slurm|mpi]

``--data-root DIR`` points every dataset of the config at DIR.

``--out`` writes the metrics as JSON.  ``--show-dir`` saves visualisations of the predictions (for
configs with a visualisation hook).  The checkpoint must match the config's model exactly.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from visionx.utils.cli import add_common_args, finish_distributed, prepare_config, run_tool  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a VisionX model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument('--show-dir', help='save visualised predictions to this directory')
    add_common_args(parser)
    return parser.parse_args(argv)


def enable_visualization(cfg, show_dir: str) -> None:
    hooks = cfg.get('default_hooks') or {}
    vis = hooks.get('visualization')
    if vis is None:
        raise ValueError(f'--show-dir: config {cfg.filename} has no default_hooks.visualization hook')
    vis['draw'] = True
    vis['interval'] = 1
    if 'show_dir' in vis:  # VisionX hooks that write their own files (meshes, cut-outs, ...)
        vis['show_dir'] = show_dir
    elif cfg.get('visualizer') is not None:  # mmseg's SegVisualizationHook draws through the visualizer
        cfg.visualizer['save_dir'] = show_dir


def default_metric_out_dirs(cfg) -> None:
    """Give metrics that write files (``out_dir``, e.g. per-class CSVs) the work dir when unset."""
    import inspect

    from visionx.registry import METRICS
    evaluators = cfg.get('test_evaluator')
    if evaluators is None:
        return
    for ev in evaluators if isinstance(evaluators, (list, tuple)) else [evaluators]:
        cls = METRICS.get(ev.get('type', '')) if isinstance(ev, dict) else None
        if cls is not None and 'out_dir' in inspect.signature(cls.__init__).parameters \
                and ev.get('out_dir') is None:
            ev['out_dir'] = cfg.work_dir


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.dist import get_rank
    from mmengine.registry import init_default_scope

    from visionx.registry import MODELS
    from visionx.utils import atomic_write_json, check_checkpoint_matches, check_data_roots, load_config

    cfg = prepare_config(load_config(args.config, args.cfg_options), args, args.config)
    check_data_roots(cfg, splits=('test',))
    init_default_scope(cfg.get('default_scope', 'visionx'))
    check_checkpoint_matches(MODELS.build(cfg.model), args.checkpoint)
    default_metric_out_dirs(cfg)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.show_dir:
        enable_visualization(cfg, args.show_dir)

    from visionx.engine import build_runner
    runner = build_runner(cfg)
    metrics = runner.test()
    if args.out and get_rank() == 0:
        atomic_write_json(args.out, dict(config=args.config, checkpoint=args.checkpoint,
                                         metrics=metrics))
        print(f'metrics written to {args.out}')
    finish_distributed()
    return 0


if __name__ == '__main__':
    run_tool(main)
