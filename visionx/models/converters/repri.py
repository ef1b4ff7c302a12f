"""Map the official RePRI PSPNet checkpoints (mboudiaf/RePRI-for-Few-Shot-Segmentation ``src/model/pspnet.py``
names) onto :class:`~visionx.models.fewshot.FewShotEncoderDecoder` (mmseg ``ResNetV1c`` + ``PSPHead``).

Official names, after the DDP ``module.`` (or ``model.``) prefix:

=================================== ==============================================
official                            VisionX
=================================== ==============================================
``layer0.{0,1,3,4,6,7}.*``          ``backbone.stem.{0,1,3,4,6,7}.*`` (deep stem)
``layer{1-4}.<b>.<conv|bn|down>.*`` ``backbone.layer{1-4}.<b>.*`` (same names)
``ppm.features.<i>.1.*`` (conv)     ``decode_head.psp_modules.<i>.1.conv.*``
``ppm.features.<i>.2.*`` (BN)       ``decode_head.psp_modules.<i>.1.bn.*``
``bottleneck.0.*`` / ``.1.*``       ``decode_head.bottleneck.conv.*`` / ``.bn.*``
``classifier.*``                    ``decode_head.conv_seg.*``
=================================== ==============================================
"""
from __future__ import annotations

import os
import re
from collections import OrderedDict
from pathlib import Path
from typing import Mapping

import torch
from torch import Tensor

from visionx.utils import atomic_path
from visionx.utils.checkpoint import check_state_dict_matches
from visionx.utils.errors import DataFormatError, UserFileNotFoundError

__all__ = ['convert_official_repri', 'convert_file', 'check_complete']

_RULES: list[tuple[re.Pattern, callable]] = [
    (re.compile(r'^layer0\.([013467])\.(.+)$'), lambda m: f'backbone.stem.{m[1]}.{m[2]}'),
    (re.compile(r'^(layer[1-4]\.\d+\.(?:conv[123]|bn[123]|downsample\.[01])\..+)$'), lambda m: f'backbone.{m[1]}'),
    (re.compile(r'^ppm\.features\.(\d+)\.1\.(.+)$'), lambda m: f'decode_head.psp_modules.{m[1]}.1.conv.{m[2]}'),
    (re.compile(r'^ppm\.features\.(\d+)\.2\.(.+)$'), lambda m: f'decode_head.psp_modules.{m[1]}.1.bn.{m[2]}'),
    (re.compile(r'^bottleneck\.0\.(.+)$'), lambda m: f'decode_head.bottleneck.conv.{m[1]}'),
    (re.compile(r'^bottleneck\.1\.(.+)$'), lambda m: f'decode_head.bottleneck.bn.{m[1]}'),
    (re.compile(r'^classifier\.(.+)$'), lambda m: f'decode_head.conv_seg.{m[1]}'),
]


def _strip_wrappers(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    if 'state_dict' in state and isinstance(state['state_dict'], Mapping):
        state = state['state_dict']
    out = {}
    for k, v in state.items():
        for prefix in ('module.', 'model.'):
            if k.startswith(prefix):
                k = k[len(prefix):]
                break
        out[k] = v
    return out


def convert_official_repri(state: Mapping[str, Tensor]) -> OrderedDict[str, Tensor]:
    """Rename every key of an official RePRI PSPNet state dict to VisionX names.

    Args:
        state: official state dict, optionally inside ``{'state_dict': ...}`` (the official ``best.pth``)
            and with the ``module.`` / ``model.`` prefix.

    Returns:
        The same tensors under ``FewShotEncoderDecoder`` names.

    Raises:
        DataFormatError: a key matches no rule, naming the keys.
    """
    out: OrderedDict[str, Tensor] = OrderedDict()
    unmapped = []
    for key, value in _strip_wrappers(state).items():
        for pattern, target in _RULES:
            m = pattern.match(key)
            if m:
                out[target(m)] = value
                break
        else:
            unmapped.append(key)
    if unmapped:
        raise DataFormatError(f'{len(unmapped)} keys are not official RePRI PSPNet parameters, e.g. '
                              f'{unmapped[:5]}; expected the state dict of src/model/pspnet.py (best.pth)')
    return out


def check_complete(state: Mapping[str, Tensor], model: torch.nn.Module) -> None:
    """Raise :class:`CheckpointMismatchError` unless ``state`` fills exactly ``model``'s parameters and buffers
    with the right shapes."""
    check_state_dict_matches(state, model, 'converted RePRI checkpoint', 'the model')


def convert_file(src: str | os.PathLike, dst: str | os.PathLike, model: torch.nn.Module | None = None) -> int:
    """Convert the official checkpoint at ``src`` into a VisionX checkpoint at ``dst`` (atomically).

    Args:
        src: official ``best.pth`` / ``final.pth``.
        dst: output path; ``{'state_dict': ..., 'meta': {...}}``.
        model: if given (built from the RePRI config the weights are for), the result must fill it exactly.

    Returns:
        The number of tensors written.
    """
    src = Path(src)
    if not src.is_file():
        raise UserFileNotFoundError(f'{src} not found (expected an official RePRI PSPNet checkpoint)')
    try:
        state = torch.load(src, map_location='cpu', weights_only=True)
    except Exception as err:  # not a torch file, truncated, or pickled objects the safe loader refuses
        raise DataFormatError(f'{src} is not a readable torch checkpoint ({err})') from err
    if not isinstance(state, dict):
        raise DataFormatError(f'{src} does not hold a state dict (got {type(state).__name__})')
    converted = convert_official_repri(state)
    if model is not None:
        check_complete(converted, model)
    with atomic_path(dst) as tmp:
        torch.save({'state_dict': converted, 'meta': {'converted_from': src.name, 'format': 'visionx-repri'}}, tmp)
    return len(converted)
