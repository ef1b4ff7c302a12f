"""``VisionXRunner``: MMEngine's Runner, made to run distributed on CPU-only machines.

MMEngine 0.10.7 assumes CUDA for distributed runs in two places:

* ``init_dist('pytorch')`` calls ``torch.cuda.set_device(LOCAL_RANK)`` before ``init_process_group``;
  on a CPU-only torch that raises.  Here the process group is created with ``gloo`` directly when CUDA is
  not available (and the configured ``nccl`` backend is replaced by ``gloo``, which is what works on CPU).
* ``wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to DDP, which DDP rejects for a CPU module.  For a
  module whose parameters live on the CPU, VisionX passes ``device_ids=None``.

It also registers :class:`~visionx.engine.hooks.RNGStateHook` in every run, so that ``--resume``
continues the random streams where the interrupted run left them, and builds a plain
``IterBasedTrainLoop`` as :class:`~visionx.engine.loops.ResumableIterBasedTrainLoop`.  Everything else
(hooks, loops, checkpointing, resume) is MMEngine's own.  :func:`build_runner` builds it as MMSeg's tools
do (``RUNNERS.build(cfg)``; ``configs/_base_/default_runtime.py`` sets ``runner_type``).
"""
from __future__ import annotations

import os

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.dist import is_distributed
from mmengine.model import MMDistributedDataParallel, is_model_wrapper
from mmengine.runner import Runner

from visionx.registry import MODEL_WRAPPERS, RUNNERS


def init_cpu_dist(launcher: str, backend: str = 'gloo', **kwargs) -> None:
    """Create the process group on a CPU-only machine (``torchrun`` or slurm environment variables)."""
    if launcher == 'slurm' and 'RANK' not in os.environ:
        os.environ['RANK'] = os.environ['SLURM_PROCID']
        os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
        os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
        os.environ.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in os.environ:
            import subprocess
            node_list = os.environ['SLURM_NODELIST']
            os.environ['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {node_list} | head -n1')
    elif launcher == 'mpi' and 'RANK' not in os.environ:
        os.environ['RANK'] = os.environ['OMPI_COMM_WORLD_RANK']
        os.environ['WORLD_SIZE'] = os.environ['OMPI_COMM_WORLD_SIZE']
        os.environ['LOCAL_RANK'] = os.environ.get('OMPI_COMM_WORLD_LOCAL_RANK', '0')
        os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
        os.environ.setdefault('MASTER_PORT', '29500')
    kwargs.pop('init_backend', None)
    torch_dist.init_process_group(
        backend='gloo' if backend == 'nccl' else backend,
        rank=int(os.environ['RANK']), world_size=int(os.environ['WORLD_SIZE']), **kwargs)


def resumable_train_loop_cfg(loop_cfg: dict) -> dict:
    """Return ``loop_cfg`` with a plain iteration-based loop replaced by ``ResumableIterBasedTrainLoop``.

    ``type='IterBasedTrainLoop'`` (any name that resolves to MMEngine's class) and the type-less form
    ``by_epoch=False`` are rewritten; every other config is returned unchanged (not copied).

    Args:
        loop_cfg: ``train_cfg`` as given to ``Runner.build_train_loop``.

    Returns:
        A new dict with ``type=ResumableIterBasedTrainLoop``, or ``loop_cfg`` itself.
    """
    from mmengine.registry import LOOPS
    from mmengine.runner import IterBasedTrainLoop

    from .loops import ResumableIterBasedTrainLoop
    loop_type = loop_cfg.get('type')
    if loop_type is None:
        if 'by_epoch' not in loop_cfg or loop_cfg['by_epoch']:
            return loop_cfg
        new = {k: v for k, v in loop_cfg.items() if k != 'by_epoch'}
    else:
        cls = LOOPS.get(loop_type) if isinstance(loop_type, str) else loop_type
        if cls is not IterBasedTrainLoop:
            return loop_cfg
        new = dict(loop_cfg)
    new['type'] = ResumableIterBasedTrainLoop
    return new


def build_runner(cfg: Config) -> Runner:
    """Build the runner of ``cfg`` as MMSegmentation's tools do.

    ``RUNNERS.build(cfg)`` when the config names a ``runner_type`` (``configs/_base_/default_runtime.py``
    sets ``visionx.VisionXRunner``), otherwise :class:`VisionXRunner`, so RNG-state checkpointing and CPU DDP are
    always on.
    """
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return VisionXRunner.from_cfg(cfg)


@RUNNERS.register_module()
class VisionXRunner(Runner):
    """MMEngine ``Runner`` that also trains distributed on CPU (gloo).  See the module docstring."""

    def setup_env(self, env_cfg: dict) -> None:
        if self.distributed and not is_distributed() and not torch.cuda.is_available():
            dist_cfg = dict(env_cfg.get('dist_cfg', {}))
            timeout = dist_cfg.pop('timeout', None)
            if timeout is not None:
                import datetime
                dist_cfg['timeout'] = datetime.timedelta(seconds=timeout)
            init_cpu_dist(self.launcher, **dist_cfg)
        super().setup_env(env_cfg)

    def register_hooks(self, default_hooks=None, custom_hooks=None) -> None:
        super().register_hooks(default_hooks, custom_hooks)
        from .hooks import RNGStateHook
        if not any(isinstance(h, RNGStateHook) for h in self.hooks):
            self.register_hook(RNGStateHook())

    def build_train_loop(self, loop):
        """As MMEngine, but a plain ``IterBasedTrainLoop`` is built as
        :class:`~visionx.engine.loops.ResumableIterBasedTrainLoop` (same behaviour, exact resume).

        The loop *config* is rewritten (see :func:`resumable_train_loop_cfg`), so the right class is built
        directly; loops of any other type are built unchanged.
        """
        if isinstance(loop, dict):
            loop = resumable_train_loop_cfg(loop)
        return super().build_train_loop(loop)

    def load_checkpoint(self, filename: str, *args, **kwargs):
        """MMEngine's ``load_checkpoint`` (also used by ``resume``), with a file the safe loader refuses
        reported as a :class:`~visionx.utils.errors.DataFormatError` naming the file and the refused global."""
        import pickle

        from visionx.utils.errors import DataFormatError
        try:
            return super().load_checkpoint(filename, *args, **kwargs)
        except pickle.UnpicklingError as exc:
            import re
            text = re.sub(r'\x1b\[[0-9;]*m', '', str(exc))
            m = re.search(r'WeightsUnpickler error: ([^\n]*)', text)  # torch's reason, after its long advice
            detail = (m.group(1) if m else ' '.join(text.split()))[:300].rstrip('. ')
            raise DataFormatError(
                f'checkpoint {filename}: refused by torch\'s safe (weights-only) loader: {detail}.  VisionX allows '
                'the classes MMEngine writes; a checkpoint holding other objects (e.g. a message hub pickled '
                'by a stock MMEngine, which stores getattr calls) must be reduced to its state_dict by someone '
                'who trusts the file') from None

    def wrap_model(self, model_wrapper_cfg: dict | None, model: torch.nn.Module) -> torch.nn.Module:
        """MMEngine's wrapping, except a distributed run on CPU (gloo): DDP without ``device_ids``.

        The device decides, not where the freshly built model sits (MMEngine builds it on the CPU and moves it
        in its own ``wrap_model``): on a CUDA node the model goes to MMEngine's path (to the GPU, SyncBN when
        ``cfg.sync_bn``, DDP with the device id).  ``cfg.sync_bn`` is not applied on CPU."""
        from mmengine.device import get_device
        on_cpu = get_device() == 'cpu'
        if not self.distributed or is_model_wrapper(model) or not on_cpu:
            return super().wrap_model(model_wrapper_cfg, model)
        if model_wrapper_cfg is None:
            return MMDistributedDataParallel(
                module=model, device_ids=None, broadcast_buffers=False,
                find_unused_parameters=self.cfg.get('find_unused_parameters', False))
        cfg = dict(model_wrapper_cfg)
        cfg.setdefault('type', 'MMDistributedDataParallel')
        return MODEL_WRAPPERS.build(cfg, default_args=dict(module=model))
