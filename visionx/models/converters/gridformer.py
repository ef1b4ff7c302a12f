"""Convert an official GridFormer checkpoint (list17/GridFormer ``model.pt`` / ``model_best.pt``) to VisionX.

The official checkpoints are ``{'model': state_dict, 'optimizer': ..., 'epoch_it': ..., ...}`` written by
``CheckpointIO``; keys may carry the ``module.`` prefix of ``nn.DataParallel``.  Parameter names inside each
layer are the same in VisionX; only the containers are renamed:

=====================================  ==========================================
official                               VisionX
=====================================  ==========================================
``encoder.unet.down_convs.<i>.``       ``encoder.unet.down_levels.<i>.``
``encoder.unet.up_convs.<i>.``         ``encoder.unet.up_levels.<i>.``
``<2D level>.conv_q.0.``               ``<2D level>.conv_q.``
``encoder.unet3d.encoders.<i>.``       ``encoder.unet.encoders.<i>.``
``encoder.unet3d.decoders.<i>.``       ``encoder.unet.decoders.<i>.``
``encoder.fc_pos.``, ``decoder.*``      unchanged
=====================================  ==========================================

Used by ``tools/model_converters/gridformer_official_to_visionx.py`` (a thin wrapper of :func:`convert_file`).
"""
from __future__ import annotations

import os
import re
from collections import OrderedDict
from pathlib import Path

import torch

from visionx.utils import atomic_path
from visionx.utils.errors import DataFormatError, UserFileNotFoundError

__all__ = ['convert_key', 'convert_state_dict', 'load_official', 'convert_file']

_RULES = [
    (re.compile(r'^encoder\.unet\.down_convs\.(\d+)\.conv_q\.0\.'), r'encoder.unet.down_levels.\1.conv_q.'),
    (re.compile(r'^encoder\.unet\.up_convs\.(\d+)\.conv_q\.0\.'), r'encoder.unet.up_levels.\1.conv_q.'),
    (re.compile(r'^encoder\.unet\.down_convs\.'), 'encoder.unet.down_levels.'),
    (re.compile(r'^encoder\.unet\.up_convs\.'), 'encoder.unet.up_levels.'),
    (re.compile(r'^encoder\.unet3d\.'), 'encoder.unet.'),
]


def convert_key(key: str) -> str:
    """VisionX name of an official parameter / buffer name."""
    key = key[len('module.'):] if key.startswith('module.') else key
    for pattern, repl in _RULES:
        key, n = pattern.subn(repl, key)
        if n:
            break
    return key


def convert_state_dict(official: dict[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Rename every key of an official state dict (raises ``ValueError`` on a name outside the model)."""
    out = OrderedDict()
    for key, value in official.items():
        new = convert_key(key)
        if not new.startswith(('encoder.', 'decoder.')):
            raise DataFormatError(f'unexpected key {key!r} in the official state dict (expected encoder.* / decoder.*)')
        out[new] = value
    return out


def load_official(path: str | Path) -> dict[str, torch.Tensor]:
    """The model state dict of an official checkpoint (``{'model': ...}`` or a bare state dict)."""
    path = Path(path)
    if not path.is_file():
        raise UserFileNotFoundError(f'{path} not found (expected an official GridFormer model.pt)')
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:
        raise DataFormatError(f'{path} is not a readable torch checkpoint ({err})') from err
    state = ckpt.get('model', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise DataFormatError(f"{path}: expected {{'model': state_dict}} or a state dict of tensors")
    return state


def check_against_models(state: dict, src, config: str | os.PathLike | None = None) -> None:
    """Raise unless ``state`` fills a GridFormer exactly: the model of ``config``, else the paper's 3-plane
    or grid-64 model (whichever matches).

    Raises:
        DataFormatError: an empty state.
        CheckpointMismatchError: keys or shapes differ (named).
    """
    from mmengine.registry import init_default_scope

    from visionx.registry import MODELS
    from visionx.utils import load_config
    from visionx.utils.checkpoint import check_state_dict_matches
    if not state:
        raise DataFormatError(f'{src} holds no tensors')
    init_default_scope('visionx')
    if config is not None:
        cfg = load_config(config)
        model_cfg = dict(cfg.model)
        model_cfg.pop('data_preprocessor', None)
        check_state_dict_matches(state, MODELS.build(model_cfg), str(src), f'the model of {config}')
        return
    volume = any(k.startswith('encoder.unet.encoders.') for k in state)  # UNet3D's level names
    enc = dict(plane_type=('grid',)) if volume else dict()
    check_state_dict_matches(state, MODELS.build(dict(type='GridFormer', encoder=enc, decoder=dict())), str(src),
                             f"the paper's {'grid-64' if volume else '3-plane'} GridFormer",
                             hint='another architecture? pass its config with --config')


def convert_file(src: str | os.PathLike, dst: str | os.PathLike, config: str | os.PathLike | None = None) -> int:
    """Convert the official checkpoint at ``src`` into a VisionX checkpoint at ``dst`` (atomically), after
    checking it fills the model of ``config`` (default: the paper's 3-plane or grid-64 GridFormer).

    Returns the number of tensors written.
    """
    state = convert_state_dict(load_official(src))
    check_against_models(state, src, config)
    with atomic_path(dst) as tmp:
        torch.save(dict(state_dict=state, meta=dict(converted_from=str(src))), tmp)
    return len(state)
