"""Student checkpoints from BPKD's released weights and from VisionX distillation runs.

- :func:`convert_official` (``tools/model_converters/bpkd_official_to_visionx.py``): the released BPKD
  checkpoints are either mmseg 0.x student checkpoints (``backbone.*``, ``decode_head.*``,
  ``auxiliary_head.*``) or mmrazor 0.x KD checkpoints whose student keys carry ``architecture.model.`` (the
  official ``eval/tools/model_converters.py`` strips that prefix; the teacher / distiller keys are dropped).
  mmseg 1.x kept the 0.x parameter names of every model BPKD uses (ResNetV1c, MobileNetV2, HRNet and the
  PSP / ASPP / depthwise-separable ASPP / ISA / FCN heads), so the student keys need no renaming; passing the
  student config checks that with a strict load.
- :func:`extract_student` (``tools/model_converters/kd_extract_student.py``): the ``student.*`` weights of a
  :class:`~visionx.models.distillers.KDEncoderDecoder` checkpoint, as a plain mmseg 1.x checkpoint.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Mapping

import torch

from visionx.utils import atomic_path
from visionx.utils.checkpoint import check_state_dict_matches
from visionx.utils.errors import DataFormatError, UserFileNotFoundError

__all__ = ['MMRAZOR_PREFIX', 'SEGMENTOR_PREFIXES', 'convert_official', 'extract_student', 'check_against_config',
           'convert_file', 'extract_student_file']

MMRAZOR_PREFIX = 'architecture.model.'
SEGMENTOR_PREFIXES = ('backbone.', 'neck.', 'decode_head.', 'auxiliary_head.')
STUDENT_PREFIX = 'student.'


def _load(src: str | os.PathLike, what: str) -> dict:
    src = Path(src)
    if not src.is_file():
        raise UserFileNotFoundError(f'{src} not found (expected {what})')
    try:
        obj = torch.load(src, map_location='cpu', weights_only=True)
    except Exception as err:  # not a torch file, truncated, or pickled objects the safe loader refuses
        raise DataFormatError(f'{src} is not a readable torch checkpoint ({err})') from err
    state = obj.get('state_dict', obj) if isinstance(obj, dict) else obj
    if not isinstance(state, Mapping) or not state or \
            not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataFormatError(f'{src} holds no state dict of tensors (expected {what})')
    return {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in state.items()}


def convert_official(state: Mapping[str, torch.Tensor]) -> tuple[OrderedDict, str]:
    """The mmseg 1.x student state dict of a released BPKD checkpoint.

    Args:
        state: an mmseg 0.x segmentor state dict, or an mmrazor 0.x KD state dict.

    Returns:
        ``(student_state, layout)`` with ``layout`` ``'mmrazor-0.x'`` or ``'mmseg-0.x'``.

    Raises:
        DataFormatError: neither layout (e.g. a VisionX KD checkpoint: use ``kd_extract_student.py``).
    """
    if any(k.startswith(MMRAZOR_PREFIX) for k in state):
        return OrderedDict((k[len(MMRAZOR_PREFIX):], v) for k, v in state.items()
                           if k.startswith(MMRAZOR_PREFIX)), 'mmrazor-0.x'
    if any(k.startswith(STUDENT_PREFIX) for k in state):
        raise DataFormatError('this is a VisionX distillation checkpoint (student.* keys); extract its student '
                              'with tools/model_converters/kd_extract_student.py')
    if all(k.startswith(SEGMENTOR_PREFIXES) for k in state) and any(k.startswith('backbone.') for k in state):
        return OrderedDict(state), 'mmseg-0.x'
    odd = sorted(k for k in state if not k.startswith(SEGMENTOR_PREFIXES))[:3]
    raise DataFormatError(f'not a BPKD release checkpoint: keys such as {odd} are neither mmseg segmentor keys '
                          f'({", ".join(SEGMENTOR_PREFIXES)}) nor mmrazor KD keys ({MMRAZOR_PREFIX}*)')


def extract_student(state: Mapping[str, torch.Tensor]) -> OrderedDict:
    """The ``student.*`` weights of a KDEncoderDecoder state dict, without the prefix.

    Raises:
        DataFormatError: no ``student.*`` key.
    """
    out = OrderedDict((k[len(STUDENT_PREFIX):], v) for k, v in state.items() if k.startswith(STUDENT_PREFIX))
    if not out:
        raise DataFormatError('no student.* weights: not a checkpoint of a KDEncoderDecoder run')
    return out


def check_against_config(state: Mapping[str, torch.Tensor], config: str | os.PathLike, src: str = '') -> None:
    """Load ``state`` strictly into the student model of ``config`` (a student config or a KD config).

    Raises:
        UserFileNotFoundError: no such config.
        CheckpointMismatchError: missing or unexpected keys, or shape mismatches (named).
    """
    from mmengine.registry import init_default_scope

    from visionx.registry import MODELS
    from visionx.utils import ConfigError, load_config
    cfg = load_config(config)  # UserFileNotFoundError / ConfigError naming the file
    if not cfg.get('model'):
        raise ConfigError(f'{config} has no model')
    init_default_scope(cfg.get('default_scope', 'visionx'))
    model_cfg = cfg.model.student if cfg.model.get('type') == 'KDEncoderDecoder' else cfg.model
    model_cfg = model_cfg.copy()
    model_cfg.pop('data_preprocessor', None)
    try:
        model = MODELS.build(model_cfg)
    except KeyError as exc:
        raise ConfigError(f'{config}: cannot build its model: {exc}') from None
    check_state_dict_matches(state, model, str(src or 'checkpoint'), f'the model of {config}')


def _save(state: OrderedDict, dst: str | os.PathLike, meta: dict) -> None:
    with atomic_path(dst) as tmp:
        torch.save({'state_dict': state, 'meta': meta}, tmp)


def convert_file(src: str | os.PathLike, dst: str | os.PathLike, config: str | os.PathLike | None = None) -> str:
    """Convert a released BPKD checkpoint at ``src`` into an mmseg 1.x student checkpoint at ``dst``.

    Nothing is written unless the conversion (and, with ``config``, the strict load) succeeds.  Returns the
    detected layout.
    """
    state, layout = convert_official(_load(src, 'an mmseg 0.x or mmrazor 0.x BPKD checkpoint'))
    if config is not None:
        check_against_config(state, config, str(src))
    _save(state, dst, {'converted_from': Path(src).name, 'source_layout': layout})
    return layout


def extract_student_file(src: str | os.PathLike, dst: str | os.PathLike,
                         config: str | os.PathLike | None = None) -> int:
    """Save the student of the KDEncoderDecoder checkpoint ``src`` alone at ``dst``; returns its tensor count."""
    state = extract_student(_load(src, 'a VisionX KDEncoderDecoder checkpoint'))
    if config is not None:
        check_against_config(state, config, str(src))
    _save(state, dst, {'extracted_from': Path(src).name, 'source_layout': 'visionx-kd'})
    return len(state)
