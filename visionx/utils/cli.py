"""Shared plumbing of the command-line tools: common flags and user-error reporting.

The runner is built by :func:`visionx.engine.build_runner`; this module does not import ``visionx.engine``.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

from mmengine.config import Config, DictAction

from .config import set_data_root
from .errors import VisionXUserError


def run_tool(main: Callable[[], int | None]) -> None:
    """Run ``main`` and exit with its return code.

    A :class:`~visionx.utils.errors.VisionXUserError` (bad path, bad config, wrong checkpoint, bad input
    file) is printed as one ``error:`` line and the process exits with status 2.  Every other exception
    is a bug and propagates with its traceback.  Set ``VISIONX_DEBUG=1`` to get the traceback of user
    errors too.
    """
    try:
        code = main()
    except VisionXUserError as exc:
        if os.environ.get('VISIONX_DEBUG'):
            raise
        print(f'error: {exc}', file=sys.stderr)
        print('(set VISIONX_DEBUG=1 for the full traceback)', file=sys.stderr)
        sys.exit(2)
    sys.exit(code or 0)


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add the flags shared by ``tools/train.py`` and ``tools/test.py`` (applied by :func:`prepare_config`)."""
    parser.add_argument('--work-dir', help='directory for logs and checkpoints '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys as MMEngine does, e.g. train_cfg.max_iters=100 (new keys are added '
        'with a warning; a near-miss of an existing key, e.g. train_cfg.max_iter, is an error)')
    parser.add_argument(
        '--data-root', metavar='DIR',
        help='dataset folder: sets data_root of every train/val/test dataset (through dataset wrappers); '
        '--cfg-options data_root=DIR cannot, the config file already substituted it')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher for distributed runs')
    # torchrun passes --local-rank (older launchers --local_rank).
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument('--seed', type=int, default=None, help='random seed (overrides the config)')
    parser.add_argument('--deterministic', action='store_true',
                        help='use deterministic algorithms (slower on GPU)')


def prepare_config(cfg: Config, args, config_path: str) -> Config:
    """Apply the flags every tool shares (work dir, data root, launcher, seed) to ``cfg``.

    Raises:
        ConfigError: ``--data-root`` is given for a config without dataloaders.
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg.launcher = args.launcher
    if getattr(args, 'data_root', None):
        set_data_root(cfg, args.data_root)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = os.path.join('./work_dirs', os.path.splitext(os.path.basename(config_path))[0])
    if args.seed is not None or args.deterministic:
        randomness = dict(cfg.get('randomness') or {})
        if args.seed is not None:
            randomness['seed'] = args.seed
        if args.deterministic:
            randomness['deterministic'] = True
        cfg.randomness = randomness
    return cfg


def finish_distributed() -> None:
    """End a distributed run cleanly: wait for every rank, then destroy the process group.

    Without it a rank can reach interpreter shutdown while another is still inside a collective (e.g.
    the last self-distillation barrier), and gloo's background threads then abort the process.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
