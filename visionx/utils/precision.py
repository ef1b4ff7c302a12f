"""Inference precision: ``--precision {auto,fp32,bf16,fp16}``, autocast and channels-last.

One policy for every inference path (``tools/test.py``, the demos, :class:`~visionx.apis.ObjectCutter`,
the benchmark cases):

* ``fp32``: the model runs exactly as trained (no autocast); outputs are bit-identical to a run without
  the option.
* ``bf16``: ``torch.autocast(device, torch.bfloat16)``; convolutions / matmuls run in bfloat16, the
  reductions autocast keeps in fp32 stay in fp32.  Works on every CPU (fast only with AMX or AVX-512 BF16,
  emulated and usually *slower* on AVX2-only CPUs) and on CUDA GPUs with bf16 support (Ampere+).
* ``fp16``: ``torch.autocast('cuda', torch.float16)``; CUDA only (CPU fp16 kernels are emulated and slow),
  so it is refused on CPU with a :class:`~visionx.utils.errors.ConfigError`.
* ``auto``: ``bf16`` where it is fast (a CUDA device with bf16, a CPU reporting AMX or AVX-512 BF16),
  ``fp32`` elsewhere.

Channels-last (:func:`to_channels_last`) is applied to 2-D convolutional networks only: 3-D networks have no
channels-last (NDHWC) speed-up in oneDNN/cuDNN for the V-Net sizes measured, and point networks have no
image layout at all.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import torch

from .errors import ConfigError

__all__ = ['PRECISIONS', 'cpu_has_fast_bf16', 'resolve_precision', 'autocast', 'to_channels_last',
           'is_2d_conv_net', 'cast_floats', 'wrap_test_step']

PRECISIONS = ('auto', 'fp32', 'bf16', 'fp16')
_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16}


def cpu_has_fast_bf16() -> bool:
    """True when the CPU has native bf16 matrix instructions (AMX-BF16 or AVX-512 BF16).

    Asks torch (``torch.cpu._is_amx_tile_supported`` / ``_is_avx512_bf16_supported``) and falls back to
    the ``flags`` line of ``/proc/cpuinfo``.
    """
    for name in ('_is_amx_tile_supported', '_is_avx512_bf16_supported'):
        probe = getattr(torch.cpu, name, None)
        if probe is not None:
            try:
                if probe():
                    return True
            except RuntimeError:  # pragma: no cover - torch built without the probe
                pass
    try:
        flags = Path('/proc/cpuinfo').read_text().split()
    except OSError:
        return False
    return 'amx_bf16' in flags or 'avx512_bf16' in flags


def resolve_precision(precision: str, device: str | torch.device) -> str:
    """Turn ``precision`` (one of :data:`PRECISIONS`) into ``'fp32'``, ``'bf16'`` or ``'fp16'`` for ``device``.

    Raises:
        ConfigError: unknown value, ``fp16`` on a non-CUDA device, or ``bf16`` on a CUDA GPU without bf16.
    """
    device = torch.device(device)
    if precision not in PRECISIONS:
        raise ConfigError(f'--precision {precision!r}: expected one of {", ".join(PRECISIONS)}')
    cuda = device.type == 'cuda'
    if precision == 'auto':
        if cuda:
            return 'bf16' if torch.cuda.is_bf16_supported() else 'fp32'
        return 'bf16' if device.type == 'cpu' and cpu_has_fast_bf16() else 'fp32'
    if precision == 'fp16' and not cuda:
        raise ConfigError(f'--precision fp16 needs a CUDA device (got {device}); on CPU use bf16 (fast with '
                          'AMX / AVX-512 BF16) or fp32')
    if precision == 'bf16' and cuda and not torch.cuda.is_bf16_supported():
        raise ConfigError(f'--precision bf16: the GPU of {device} has no bf16 support; use fp16 or fp32')
    return precision


def autocast(precision: str, device: str | torch.device) -> contextlib.AbstractContextManager:
    """The autocast context of a resolved ``precision`` on ``device`` (a no-op context for ``fp32``)."""
    if precision == 'fp32':
        return contextlib.nullcontext()
    if precision not in _DTYPES:
        raise ConfigError(f'precision {precision!r} is not resolved; call resolve_precision first')
    return torch.autocast(torch.device(device).type, dtype=_DTYPES[precision])


def is_2d_conv_net(model: torch.nn.Module) -> bool:
    """True when ``model`` has 2-D convolutions and no 3-D ones (channels-last only helps those)."""
    mods = list(model.modules())
    return any(isinstance(m, torch.nn.Conv2d) for m in mods) and \
        not any(isinstance(m, (torch.nn.Conv3d, torch.nn.ConvTranspose3d)) for m in mods)


def to_channels_last(model: torch.nn.Module) -> bool:
    """Convert a 2-D conv net's 4-D weights to channels-last in place; return whether it was converted."""
    if not is_2d_conv_net(model):
        return False
    model.to(memory_format=torch.channels_last)
    return True


def cast_floats(obj: Any, dtype: torch.dtype = torch.float32) -> Any:
    """Cast every reduced-precision floating tensor in ``obj`` (tensors, lists, tuples, dicts, MMEngine data
    elements) to ``dtype`` in place where possible; other values are returned unchanged.

    Metrics and writers convert predictions with ``.numpy()``, which does not support bfloat16.
    """
    if isinstance(obj, torch.Tensor):
        return obj.to(dtype) if obj.dtype in (torch.bfloat16, torch.float16) else obj
    if isinstance(obj, list):
        return [cast_floats(v, dtype) for v in obj]
    if isinstance(obj, tuple):
        return type(obj)(cast_floats(v, dtype) for v in obj) if not hasattr(obj, '_fields') else \
            type(obj)(*(cast_floats(v, dtype) for v in obj))
    if isinstance(obj, dict):
        return {k: cast_floats(v, dtype) for k, v in obj.items()}
    from mmengine.structures import BaseDataElement
    if isinstance(obj, BaseDataElement):
        for key in list(obj.keys()):  # data fields only; metainfo is not tensors of the model
            setattr(obj, key, cast_floats(getattr(obj, key), dtype))
        return obj
    return obj


def wrap_test_step(model: torch.nn.Module, precision: str, device: str | torch.device,
                   channels_last: bool = True) -> torch.nn.Module:
    """Make ``model.test_step`` (what MMEngine's test loop calls) run at a resolved ``precision``.

    ``fp32`` leaves the model untouched (bit-identical outputs).  ``bf16`` / ``fp16``: the model's 2-D conv
    weights become channels-last (when ``channels_last``), each ``test_step`` runs under autocast, and
    its outputs' reduced-precision tensors are cast back to fp32 for the metrics and writers.

    Args:
        model: The runner's model (possibly a DDP wrapper; its own ``test_step`` is the one wrapped).
        precision: ``'fp32'``, ``'bf16'`` or ``'fp16'`` (see :func:`resolve_precision`).
        device: Device the model runs on.
        channels_last: Convert 2-D conv nets to channels-last.

    Returns:
        The same ``model``.
    """
    if precision == 'fp32':
        return model
    ctx_device = torch.device(device)
    if channels_last:
        to_channels_last(model)
    step = model.test_step

    def test_step(data: Any) -> Any:
        with autocast(precision, ctx_device):
            out = step(data)
        return cast_floats(out)

    model.test_step = test_step
    return model
