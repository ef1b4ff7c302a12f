"""Shared plumbing of the command-line tools: user-error reporting and runner construction."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

from mmengine.config import Config, DictAction

USER_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, PermissionError, KeyError)


def run_tool(main: Callable[[], int | None]) -> None:
    """Run ``main``; print a user error (bad path, bad config, wrong checkpoint) in one line, exit 2.

    Set ``VISIONX_DEBUG=1`` to get the full traceback instead.
    """
    try:
        code = main()
    except USER_ERRORS as exc:
        if os.environ.get('VISIONX_DEBUG'):
            raise
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f'error: {msg}', file=sys.stderr)
        print('(set VISIONX_DEBUG=1 for the full traceback)', file=sys.stderr)
        sys.exit(2)
    sys.exit(code or 0)


def add_common_args(parser) -> None:
    parser.add_argument('--work-dir', help='directory for logs and checkpoints '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. train_cfg.max_iters=100 (the key must exist in the config)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher for distributed runs')
    # torchrun passes --local-rank (older launchers --local_rank).
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument('--seed', type=int, default=None, help='random seed (overrides the config)')
    parser.add_argument('--deterministic', action='store_true',
                        help='use deterministic algorithms (slower on GPU)')


def prepare_config(cfg: Config, args, config_path: str) -> Config:
    """Apply the flags every tool shares (work dir, launcher, seed)."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg.launcher = args.launcher
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


def build_runner(cfg: Config):
    """Build the runner named by ``cfg.runner_type`` (default :class:`VisionXRunner`)."""
    from visionx.engine import VisionXRunner
    from visionx.registry import RUNNERS
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return VisionXRunner.from_cfg(cfg)
