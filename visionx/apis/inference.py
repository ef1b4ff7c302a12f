"""Loading a trained model for inference: the config from the checkpoint, a strict weight match, fail early.

The demos (``demo/mesh_export.py``, ``demo/segment_volume.py``, ``demo/object_cut.py``) and
:class:`~visionx.apis.ObjectCutter` load models through :func:`init_model`:

1. the checkpoint must exist (checked first, before anything is imported or built);
2. the config is the ``--config`` file or, when none is given, the one MMEngine stored in the checkpoint's
   ``meta['cfg']`` (a checkpoint without it, e.g. a bare ``state_dict``, needs ``--config``);
3. the config must build a model of the kind the tool runs (``GridFormer`` for mesh export, ``TraCoCo`` for
   volume segmentation, ``BASNet`` for object cut), checked on the config before the model is built;
4. the checkpoint must hold exactly the model's tensors (:func:`visionx.utils.check_checkpoint_matches`):
   MMEngine's ``load_checkpoint`` only warns about missing or mis-shaped keys, which silently ran a randomly
   initialised network before.

All failures are :class:`~visionx.utils.VisionXUserError` subclasses, printed by
:func:`visionx.utils.cli.run_tool` as one ``error:`` line with exit status 2.

:func:`add_runtime_args` / :func:`apply_runtime_args` hold the flags every inference tool shares
(``--config``, ``--device``, ``--threads``, ``--precision``), so a new shared flag is added in one place.
``--precision`` defaults to ``auto`` here (bf16 where the device runs it fast, else fp32; see
:mod:`visionx.utils.precision`); ``tools/test.py`` keeps fp32 as its default.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from mmengine.config import Config

from visionx.utils import (CheckpointMismatchError, ConfigError, UserFileNotFoundError, check_checkpoint_matches,
                           load_config)
from visionx.utils.precision import PRECISIONS, resolve_precision

__all__ = ['read_checkpoint', 'config_from_checkpoint', 'resolve_config', 'check_model_type', 'init_model',
           'add_runtime_args', 'apply_runtime_args', 'set_threads']


def _require_file(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise UserFileNotFoundError(f'{what} not found: {path}')
    return path


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint with torch's safe (weights-only) unpickler, memory-mapped where possible.

    Memory-mapping makes reading ``meta`` cheap: tensor data is only read from disk when used.

    Raises:
        UserFileNotFoundError: no such file.
        CheckpointMismatchError: the file is not a loadable (safe) checkpoint dictionary.
    """
    path = _require_file(path, 'checkpoint')
    try:
        try:
            ckpt = torch.load(path, map_location='cpu', weights_only=True, mmap=True)
        except RuntimeError as exc:  # legacy (non-zip) serialisation cannot be memory-mapped
            if 'mmap' not in str(exc):
                raise
            ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable or unsafe file is a user error here
        raise CheckpointMismatchError(
            f'cannot load checkpoint {path}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ""}'
        ) from None
    if not isinstance(ckpt, dict):
        raise CheckpointMismatchError(f'checkpoint {path} holds a {type(ckpt).__name__}, not a state dict')
    return ckpt


def config_from_checkpoint(ckpt: dict, path: str | os.PathLike) -> Config | None:
    """The config MMEngine stored in ``ckpt['meta']['cfg']`` (its ``pretty_text``), or None when absent.

    Raises:
        ConfigError: the stored text does not parse.
    """
    meta = ckpt.get('meta')
    text = meta.get('cfg') if isinstance(meta, dict) else None
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return Config.fromstring(text, '.py')
    except Exception as exc:  # noqa: BLE001 - any parse error of the stored text
        raise ConfigError(f'the config stored in checkpoint {path} does not parse '
                          f'({type(exc).__name__}: {exc}); pass --config') from None


def resolve_config(checkpoint: str | os.PathLike, ckpt: dict, config: str | os.PathLike | None) -> Config:
    """``config`` if given, else the config stored in the checkpoint.

    Raises:
        UserFileNotFoundError / ConfigError: the config file is missing or invalid, or neither is available.
    """
    if config is not None:
        return load_config(config)
    cfg = config_from_checkpoint(ckpt, checkpoint)
    if cfg is None:
        raise ConfigError(f'checkpoint {checkpoint} stores no config (no meta["cfg"], as tools/train.py '
                          'writes); pass the training config with --config')
    return cfg


def check_model_type(cfg: Config, model_types: Sequence[str], task: str, source: str) -> None:
    """Refuse a config whose ``model.type`` is not one of ``model_types`` (before building anything).

    Args:
        cfg: The resolved config.
        model_types: Registered model names the tool can run.
        task: What the tool does, for the message (e.g. ``'volume segmentation'``).
        source: Where the config came from, for the message.

    Raises:
        CheckpointMismatchError: another kind of model.
    """
    model_cfg = cfg.get('model')
    model_type = model_cfg.get('type') if isinstance(model_cfg, dict) else None
    if model_type not in model_types:
        raise CheckpointMismatchError(
            f'{source} describes a {model_type or "config without a model"} model; {task} needs '
            f'{" or ".join(model_types)}')


def init_model(checkpoint: str | os.PathLike, config: str | os.PathLike | None, model_types: Sequence[str],
               task: str, device: str | torch.device = 'cpu',
               update_cfg: Callable[[Config], None] | None = None) -> tuple[torch.nn.Module, Config]:
    """Build the model of ``config`` (or of the checkpoint's stored config) and load the checkpoint strictly.

    Args:
        checkpoint: VisionX/MMEngine checkpoint (``{'state_dict': ..., 'meta': {'cfg': ...}}``) or a bare
            state dict (then ``config`` is required).
        config: Config file, or None to use the one stored in the checkpoint.
        model_types: Accepted ``model.type`` values, e.g. ``('TraCoCo',)``.
        task: The tool's task, for error messages.
        device: Where the model is moved.
        update_cfg: Called on the config before the model is built (e.g. to set ``test_cfg``).

    Returns:
        ``(model, cfg)``: the model in eval mode on ``device`` and the config used.

    Raises:
        UserFileNotFoundError: the checkpoint or config file does not exist.
        ConfigError: no config available, or it does not parse.
        CheckpointMismatchError: another kind of model, or the checkpoint's tensors differ from the model's.
    """
    from mmengine.registry import init_default_scope

    from visionx.registry import MODELS

    ckpt = read_checkpoint(checkpoint)
    cfg = resolve_config(checkpoint, ckpt, config)
    source = f'config {config}' if config is not None else f'the config stored in checkpoint {checkpoint}'
    check_model_type(cfg, model_types, task, source)
    if update_cfg is not None:
        update_cfg(cfg)
    init_default_scope(cfg.get('default_scope', 'visionx'))
    model = MODELS.build(cfg.model)
    check_checkpoint_matches(model, str(checkpoint))
    state = ckpt.get('state_dict', ckpt)
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    model.load_state_dict(state, strict=True)
    return model.to(device).eval(), cfg


def set_threads(threads: int | None) -> None:
    """Use ``threads`` CPU threads in torch (intra-op) and OpenCV; None keeps their defaults.

    Raises:
        ConfigError: ``threads`` < 1.
    """
    if threads is None:
        return
    if threads < 1:
        raise ConfigError(f'--threads must be >= 1, got {threads}')
    torch.set_num_threads(threads)
    import cv2
    cv2.setNumThreads(threads)


def add_runtime_args(parser: argparse.ArgumentParser, config: bool = True) -> None:
    """Add the flags every inference tool shares: ``--config`` (optional), ``--device``, ``--threads``,
    ``--precision``."""
    if config:
        parser.add_argument('--config', help='config the checkpoint was trained with (default: the config '
                            'tools/train.py stored in the checkpoint)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                        help='torch device (default: cuda when available, else cpu)')
    parser.add_argument('--threads', type=int, default=None,
                        help='CPU threads for torch and OpenCV (default: their own default, all cores)')
    parser.add_argument('--precision', choices=PRECISIONS, default='auto',
                        help='inference precision (default auto: bf16 on a CUDA GPU with bf16 or a CPU with '
                        'AMX / AVX-512 BF16, fp32 elsewhere; fp16: CUDA only)')


def apply_runtime_args(args: Any) -> torch.device:
    """Apply ``--threads``, check ``--device`` and resolve ``--precision``; return the device.

    ``args.precision`` is replaced by the resolved value (``'fp32'``, ``'bf16'`` or ``'fp16'``) when the
    parser has that flag.

    Raises:
        ConfigError: bad ``--threads`` or ``--device``, or fp16 on a CPU.
    """
    set_threads(args.threads)
    try:
        device = torch.device(args.device)
    except RuntimeError as exc:
        raise ConfigError(f'--device {args.device!r}: {exc}') from None
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise ConfigError(f'--device {args.device}: CUDA is not available on this machine; use --device cpu')
    if getattr(args, 'precision', None) is not None:
        args.precision = resolve_precision(args.precision, device)
    return device
