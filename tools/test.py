#!/usr/bin/env python
"""Evaluate a checkpoint on a config's test set (MMEngine runner).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR] [--out-metrics FILE.json]
                                           [--show-dir DIR]
                                           [--data-root DIR] [--cfg-options k=v ...]
                                           [--launcher none|pytorch|slurm|mpi]
                                           [--precision fp32|bf16|fp16|auto]

``--data-root DIR`` points every dataset of the config at DIR.

``--out DIR`` saves the predictions for offline evaluation, as mmseg 1.x does, one file per test sample in
each method's format: 8-bit PNG masks for 2-D segmentation (0/255 for two-class tasks, class indices
otherwise; BASNet and other SOD models: the saliency map), ``<category>/<model_id>.ply`` meshes for
GridFormer, ``<case>.nii.gz`` label volumes for 3-D segmentation.  The metrics go to the work dir as
always; ``--out-metrics FILE.json`` also writes them to a chosen JSON file.  ``--show-dir DIR`` draws every
prediction (meshes: rendering + mesh file; volumes: three mid-slice planes; TopoMortar: topological
errors; other 2-D tasks: mmseg's overlay).  The checkpoint must match the config's model exactly.

``--precision`` (default ``fp32``, so metrics and benchmark figures stay comparable): ``bf16`` / ``fp16``
run every test step under ``torch.autocast`` with 2-D conv nets in channels-last
(:func:`visionx.utils.precision.wrap_test_step`); ``auto`` picks bf16 where the device runs it fast (CUDA
with bf16, a CPU with AMX / AVX-512 BF16) and fp32 elsewhere; fp16 needs CUDA.  ``fp32`` runs exactly as
without the flag.
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
    parser.add_argument('--out', metavar='DIR',
                        help='save the predictions (PNG masks / meshes / NIfTI volumes) to this directory')
    parser.add_argument('--out-metrics', metavar='FILE.json', help='also write the metrics to this JSON file')
    parser.add_argument('--show-dir', help='save visualised predictions to this directory')
    parser.add_argument('--precision', choices=['auto', 'fp32', 'bf16', 'fp16'], default='fp32',
                        help='inference precision (default fp32; auto: bf16 on CUDA with bf16 or a CPU with '
                        'AMX / AVX-512 BF16, else fp32; fp16: CUDA only)')
    add_common_args(parser)
    return parser.parse_args(argv)


def _evaluator_types(cfg) -> set[str]:
    evaluators = cfg.get('test_evaluator') or []
    return {ev.get('type') for ev in (evaluators if isinstance(evaluators, (list, tuple)) else [evaluators])
            if isinstance(ev, dict)}


def enable_visualization(cfg, show_dir: str) -> None:
    """Draw every test prediction into ``show_dir`` with :class:`PredictionVisualizationHook`.

    Works for every method family whether or not the config declares ``default_hooks.visualization``
    (mmseg's ``SegVisualizationHook`` is switched off: it would draw a second time).  Configs evaluated
    with ``TopologyMetric`` draw through :class:`~visionx.visualization.TopologyErrorVisualizer`.
    """
    vis_hook = (cfg.get('default_hooks') or {}).get('visualization')
    if vis_hook is not None:
        vis_hook['draw'] = False
    if 'TopologyMetric' in _evaluator_types(cfg) and \
            (cfg.get('visualizer') or {}).get('type') in (None, 'SegLocalVisualizer'):
        cfg.visualizer = dict(cfg.get('visualizer') or {}, type='TopologyErrorVisualizer')
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
        dict(type='PredictionVisualizationHook', show_dir=show_dir)]


def enable_prediction_output(cfg, out_dir: str) -> None:
    """Save every test prediction into ``out_dir`` with :class:`PredictionWriterHook` (mmseg's ``--out``).

    Configs evaluated with ``SODMetric`` save the saliency map it scores (8-bit) instead of a binary mask.
    """
    from visionx.utils import ConfigError
    if out_dir.lower().endswith('.json') or os.path.isfile(out_dir):
        raise ConfigError(f'--out {out_dir}: --out now takes a directory for the predictions (as in mmseg 1.x); '
                          'use --out-metrics FILE.json for the metrics')
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
        dict(type='PredictionWriterHook', out_dir=out_dir, saliency='SODMetric' in _evaluator_types(cfg))]


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


def hand_precision_to_loop(cfg, precision: str) -> bool:
    """Give ``precision`` to a test loop that runs the model itself (``TAKES_PRECISION``, e.g. RePRI's
    episodic loop, which never calls ``test_step``); returns whether it did."""
    from visionx.registry import LOOPS
    loop_type = (cfg.get('test_cfg') or {}).get('type')
    loop_cls = LOOPS.get(loop_type) if isinstance(loop_type, str) else loop_type
    if not getattr(loop_cls, 'TAKES_PRECISION', False):
        return False
    cfg.test_cfg['precision'] = precision
    return True


def main(argv=None) -> int:
    args = parse_args(argv)
    if not os.path.isfile(args.checkpoint):  # before the config, data and model checks (which can take long)
        from visionx.utils import UserFileNotFoundError
        raise UserFileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    from mmengine.device import get_device
    from mmengine.dist import get_rank
    from mmengine.registry import init_default_scope

    from visionx.registry import MODELS
    from visionx.utils import atomic_write_json, check_checkpoint_matches, check_data_roots, load_config
    from visionx.utils.precision import resolve_precision, wrap_test_step

    precision = resolve_precision(args.precision, get_device())  # fp16 on CPU fails before anything is built

    cfg = prepare_config(load_config(args.config, args.cfg_options), args, args.config)
    from visionx.engine.incremental import is_incremental, test_config_for_checkpoint
    if is_incremental(cfg):  # a class-incremental task: evaluate the checkpoint's step with that step's config
        cfg = test_config_for_checkpoint(cfg, args.checkpoint)
    check_data_roots(cfg, splits=('test',))
    init_default_scope(cfg.get('default_scope', 'visionx'))
    check_checkpoint_matches(MODELS.build(cfg.model), args.checkpoint)
    default_metric_out_dirs(cfg)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.show_dir:
        enable_visualization(cfg, args.show_dir)
    if args.out:
        enable_prediction_output(cfg, args.out)

    hand_precision_to_loop(cfg, precision)
    from visionx.engine import build_runner
    runner = build_runner(cfg)
    wrap_test_step(runner.model, precision, get_device())
    metrics = runner.test()
    if args.out_metrics and get_rank() == 0:
        atomic_write_json(args.out_metrics, dict(config=args.config, checkpoint=args.checkpoint,
                                                 metrics=metrics))
        print(f'metrics written to {args.out_metrics}')
    finish_distributed()
    return 0


if __name__ == '__main__':
    run_tool(main)
