#!/usr/bin/env python
"""Train a model from a VisionX config (MMEngine runner).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--auto-scale-lr]
                                 [--data-root DIR] [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

``--data-root DIR`` points every dataset of the config at DIR.  ``--cfg-options`` accepts what MMEngine
accepts; a near-miss of an existing key (``train_cfg.max_iter``) is an error, a new key a warning.

Multi-process: ``tools/dist_train.sh CONFIG NPROC`` (torchrun) or ``tools/slurm_train.sh``.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from visionx.utils.cli import add_common_args, finish_distributed, prepare_config, run_tool  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a VisionX model')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT; without a value, from the latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (needs a GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by total batch size / auto_scale_lr.base_batch_size (default: '
                        "the batch the config's name states, GPUs x batch per GPU, e.g. 2xb16 -> 32)")
    add_common_args(parser)
    return parser.parse_args(argv)


def apply_amp(cfg) -> None:
    """Switch the config's optimizer wrapper(s) to ``AmpOptimWrapper`` (dynamic loss scale): the single
    wrapper, or each sub-network's wrapper of a per-network config (``constructor`` + one entry per network,
    e.g. TraCoCo's ``net1`` / ``net2``, or an ``OptimWrapperDict``)."""
    wrapper = cfg.optim_wrapper
    per_network = 'constructor' in wrapper and 'optimizer' not in wrapper  # e.g. TraCoCo's net1 / net2
    if not per_network and wrapper.get('type', 'OptimWrapper') in ('OptimWrapper', 'AmpOptimWrapper',
                                                                    'AutoAmpOptimWrapper'):
        wrapper.type = 'AmpOptimWrapper'
        wrapper.setdefault('loss_scale', 'dynamic')
    else:  # e.g. an OptimWrapperDict of a multi-network method: mark each wrapper
        for name, sub in wrapper.items():
            if name != 'constructor' and isinstance(sub, dict) and \
                    sub.get('type', 'OptimWrapper') in ('OptimWrapper', 'AutoAmpOptimWrapper'):
                sub.type = 'AmpOptimWrapper'
                sub.setdefault('loss_scale', 'dynamic')


def enable_auto_scale_lr(cfg, config_path: str) -> None:
    """Turn on MMEngine's linear learning-rate scaling.  The base batch is ``auto_scale_lr.base_batch_size``
    or, without one, the total batch the config's name states by the OpenMMLab convention ``<GPUs>xb<batch
    per GPU>`` (``..._2xb16-...`` -> 32): the batch its learning rate was set for."""
    import re

    from visionx.utils import ConfigError
    auto = dict(cfg.get('auto_scale_lr') or {})
    if 'base_batch_size' not in auto:
        m = re.search(r'(?:^|_)(\d+)xb(\d+)(?:[-_.]|$)', os.path.basename(config_path))
        if not m:
            raise ConfigError(f'--auto-scale-lr: {config_path} has no auto_scale_lr.base_batch_size and its name '
                              'states no <GPUs>xb<batch> to take it from')
        auto['base_batch_size'] = int(m.group(1)) * int(m.group(2))
        print(f'--auto-scale-lr: base batch {auto["base_batch_size"]} from the config name ({m.group(0).strip("_-.")})')
    auto['enable'] = True
    cfg.auto_scale_lr = auto


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from visionx.utils import ConfigError, UserFileNotFoundError, check_data_roots, check_model_files, load_config

    cfg = prepare_config(load_config(args.config, args.cfg_options), args, args.config)

    if args.amp:
        if not torch.cuda.is_available():
            raise ConfigError('--amp needs a CUDA GPU (mixed precision is not used for CPU training)')
        apply_amp(cfg)

    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg, args.config)

    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if not os.path.isfile(args.resume):
            raise UserFileNotFoundError(f'--resume: checkpoint not found: {args.resume}')
        cfg.resume, cfg.load_from = True, args.resume

    check_data_roots(cfg, splits=('train', 'val'))
    check_model_files(cfg)
    from visionx.engine import build_runner
    runner = build_runner(cfg)
    runner.train()
    finish_distributed()
    return 0


if __name__ == '__main__':
    run_tool(main)
