"""Map the official BASNet state dict (``basnet.pth``, xuebinqin/BASNet ``model/BASNet.py`` names) onto
:class:`~visionx.models.salient.BASNet` names.

Used by ``tools/model_converters/basnet_official_to_visionx.py`` (a thin wrapper of :func:`convert_file`)
and by :class:`visionx.apis.ObjectCutter`, which accepts either format.
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
from visionx.utils.errors import DataFormatError, UserFileNotFoundError

__all__ = ['convert_official_basnet', 'is_official_basnet', 'check_complete', 'convert_file']

_DECODER_STAGE = {'6': 0, '5': 1, '4': 2, '3': 3, '2': 4, '1': 5}
_SIDE = {'b': 0, '6': 1, '5': 2, '4': 3, '3': 4, '2': 5, '1': 6}
_POS = {'1': 0, 'm': 1, '2': 2}
_RRM_DEC = {'4': 0, '3': 1, '2': 2, '1': 3}

_RULES: list[tuple[re.Pattern, callable]] = [
    (re.compile(r'^inconv\.(.+)$'), lambda m: f'encoder.stem.conv.{m[1]}'),
    (re.compile(r'^inbn\.(.+)$'), lambda m: f'encoder.stem.bn.{m[1]}'),
    (re.compile(r'^encoder([1-4])\.(.+)$'), lambda m: f'encoder.layer{m[1]}.{m[2]}'),
    (re.compile(r'^resb([56])_([1-3])\.(.+)$'), lambda m: f'encoder.layer{m[1]}.{int(m[2]) - 1}.{m[3]}'),
    (re.compile(r'^convbg_([1m2])\.(.+)$'), lambda m: f'decoder.bridge.{_POS[m[1]]}.conv.{m[2]}'),
    (re.compile(r'^bnbg_([1m2])\.(.+)$'), lambda m: f'decoder.bridge.{_POS[m[1]]}.bn.{m[2]}'),
    (re.compile(r'^conv([1-6])d_([1m2])\.(.+)$'),
     lambda m: f'decoder.stages.{_DECODER_STAGE[m[1]]}.{_POS[m[2]]}.conv.{m[3]}'),
    (re.compile(r'^bn([1-6])d_([1m2])\.(.+)$'),
     lambda m: f'decoder.stages.{_DECODER_STAGE[m[1]]}.{_POS[m[2]]}.bn.{m[3]}'),
    (re.compile(r'^outconv([b1-6])\.(.+)$'), lambda m: f'decoder.side_convs.{_SIDE[m[1]]}.{m[2]}'),
    (re.compile(r'^refunet\.conv0\.(.+)$'), lambda m: f'refine.conv_in.{m[1]}'),
    (re.compile(r'^refunet\.(conv|bn)([1-4])\.(.+)$'),
     lambda m: f'refine.enc.{int(m[2]) - 1}.{"conv" if m[1] == "conv" else "bn"}.{m[3]}'),
    (re.compile(r'^refunet\.(conv|bn)5\.(.+)$'), lambda m: f'refine.bottleneck.{m[1]}.{m[2]}'),
    (re.compile(r'^refunet\.(conv|bn)_d([1-4])\.(.+)$'),
     lambda m: f'refine.dec.{_RRM_DEC[m[2]]}.{m[1]}.{m[3]}'),
    (re.compile(r'^refunet\.conv_d0\.(.+)$'), lambda m: f'refine.conv_out.{m[1]}'),
]


def _strip_wrappers(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    if 'state_dict' in state and isinstance(state['state_dict'], Mapping):
        state = state['state_dict']
    return {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in state.items()}


def is_official_basnet(state: Mapping[str, Tensor]) -> bool:
    """Whether ``state`` uses the official BASNet parameter names."""
    keys = _strip_wrappers(state)
    return 'inconv.weight' in keys and 'refunet.conv0.weight' in keys


def convert_official_basnet(state: Mapping[str, Tensor]) -> OrderedDict[str, Tensor]:
    """Rename every key of an official BASNet state dict to VisionX's ``BASNet`` names.

    Args:
        state: Official state dict (optionally wrapped in ``{'state_dict': ...}`` or with DataParallel's
            ``module.`` prefix).

    Returns:
        OrderedDict: The same tensors under VisionX names.

    Raises:
        ValueError: a key matches no rule (not an official BASNet checkpoint), naming the keys.
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
        raise DataFormatError(f'{len(unmapped)} keys are not official BASNet parameters, e.g. {unmapped[:5]}; '
                         'expected the state dict saved by xuebinqin/BASNet (basnet.pth)')
    return out


def check_complete(state: dict) -> None:
    """Raise ValueError unless ``state`` fills every parameter of VisionX's BASNet."""
    from visionx.models.salient import BASNet
    model = BASNet()
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatches raise even when not strict
        detail = ' '.join(str(exc).split())[:400]
        raise DataFormatError(f'converted state dict does not match BASNet: {detail}') from None
    missing = [k for k in missing if not k.endswith('num_batches_tracked')]
    if missing or unexpected:
        raise DataFormatError(f'converted state dict does not match BASNet: missing {missing[:5]}, '
                         f'unexpected {unexpected[:5]}')


def convert_file(src: str | os.PathLike, dst: str | os.PathLike) -> int:
    """Convert the official ``basnet.pth`` at ``src`` into a VisionX checkpoint at ``dst`` (atomically).

    The output is ``{'state_dict': ..., 'meta': {...}}``; every official key must map and every VisionX
    parameter must be filled (:func:`check_complete`).  Returns the number of tensors.
    """
    src = Path(src)
    if not src.is_file():
        raise UserFileNotFoundError(f'{src} not found (expected the official basnet.pth state dict)')
    try:
        state = torch.load(src, map_location='cpu', weights_only=True)
    except Exception as err:  # not a torch file, truncated, or pickled objects the safe loader refuses
        raise DataFormatError(f'{src} is not a readable torch state dict ({err})') from err
    if not isinstance(state, dict):
        raise DataFormatError(f'{src} does not hold a state dict (got {type(state).__name__})')
    converted = convert_official_basnet(state)
    check_complete(converted)
    with atomic_path(dst) as tmp:
        torch.save({'state_dict': converted, 'meta': {'converted_from': src.name, 'format': 'visionx-basnet'}},
                   tmp)
    return len(converted)
