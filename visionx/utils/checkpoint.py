"""Safe checkpoint loading on torch >= 2.6.

torch >= 2.6 loads with ``weights_only=True`` by default.  MMEngine 0.10.7 checkpoints carry more than
tensors (``HistoryBuffer`` objects in the message hub, numpy scalars, dtypes and arrays in the logged
statistics), so a plain resume fails with ``UnpicklingError: Weights only load failed``.

Rather than disabling the safe loader (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` or ``weights_only=False``,
which would execute any pickle), we allow-list exactly the classes that MMEngine writes.  Anything else in a
checkpoint, e.g. a payload whose ``__reduce__`` calls ``os.system``, is still refused by torch's
weights-only unpickler before it can run.
"""
from __future__ import annotations

import numpy as np
import torch


def _numpy_globals() -> list:
    """numpy objects that appear in pickled logs: scalars, arrays and the concrete dtype classes."""
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
        np.float16, np.float32, np.float64, np.complex64, np.complex128, np.str_, np.object_)]
    return [scalar, _reconstruct, np.ndarray, np.dtype, *dtype_classes]


def _mmengine_globals() -> list:
    from mmengine.config import ConfigDict
    from mmengine.logging import HistoryBuffer
    return [HistoryBuffer, ConfigDict]


def safe_checkpoint_globals() -> list:
    """The classes VisionX allows torch's weights-only unpickler to rebuild."""
    return _numpy_globals() + _mmengine_globals()


def _history_buffer_getstate(self) -> dict:
    """Pickle a ``HistoryBuffer`` without its statistics functions.

    MMEngine 0.10.7 stores ``HistoryBuffer.min`` & co. in every pickled buffer; Python pickles those as
    ``getattr(HistoryBuffer, 'min')``, and allowing ``builtins.getattr`` in the weights-only unpickler
    would let a checkpoint call any method of any object it can build (e.g. ``ndarray.tofile`` to write
    files).  The functions are class-level and re-created by ``HistoryBuffer.__setstate__`` (defaults) or
    by importing the module that registered them (custom ones), so they need not be in the file.
    """
    return {k: v for k, v in self.__dict__.items() if k != 'statistics_methods'}


_REGISTERED = False


def register_safe_globals() -> None:
    """Allow-list the classes MMEngine puts in checkpoints (idempotent, called on ``import visionx``)."""
    global _REGISTERED
    if _REGISTERED or not hasattr(torch.serialization, 'add_safe_globals'):
        return
    torch.serialization.add_safe_globals(safe_checkpoint_globals())
    if np.lib.NumpyVersion(np.__version__) >= '2.0.0':  # files pickled under numpy 1.x name these modules
        from numpy._core.multiarray import _reconstruct, scalar
        torch.serialization.add_safe_globals([(_reconstruct, 'numpy.core.multiarray._reconstruct'),
                                              (scalar, 'numpy.core.multiarray.scalar')])
    from mmengine.logging import HistoryBuffer
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    _REGISTERED = True


def check_checkpoint_matches(model: torch.nn.Module, filename: str) -> None:
    """Raise :class:`CheckpointMismatchError` unless ``filename`` holds weights for exactly ``model``.

    MMEngine loads non-strictly and only *warns* about missing keys, so evaluating the checkpoint of
    another model would silently report the scores of a randomly initialised network.

    Raises:
        UserFileNotFoundError: the checkpoint does not exist.
        CheckpointMismatchError: keys or shapes differ (the message summarises the difference).
    """
    check_state_dict_matches(load_state_dict_file(filename), model, f'checkpoint {filename}',
                             f'model {type(model).__name__}')


def load_state_dict_file(filename: str, what: str = 'checkpoint') -> dict:
    """The state dict of a checkpoint file (``{'state_dict': ...}`` or bare; DataParallel's ``module.`` removed).

    Loads with torch's safe weights-only unpickler (``import visionx`` allow-lists what MMEngine writes).

    Raises:
        UserFileNotFoundError: no file at ``filename``.
        CheckpointMismatchError: the file is unreadable, unsafe, or holds no state dict.
    """
    import os

    from .errors import CheckpointMismatchError, UserFileNotFoundError

    if not os.path.isfile(filename):
        raise UserFileNotFoundError(f'{what} not found: {filename}')
    if os.path.getsize(filename) == 0:
        raise CheckpointMismatchError(f'{what} {filename} is an empty file')
    try:
        ckpt = torch.load(filename, map_location='cpu')
    except Exception as exc:  # noqa: BLE001 - any unreadable/unsafe file is a user error here
        first = (str(exc).splitlines() or [''])[0]
        raise CheckpointMismatchError(f'cannot load {what} {filename}: {type(exc).__name__}: {first}') from None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise CheckpointMismatchError(f'{filename} holds no state dict')
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


def check_state_dict_matches(state: dict, model: torch.nn.Module, source: str, target: str,
                             hint: str = '') -> None:
    """Raise :class:`CheckpointMismatchError` unless ``state`` has exactly ``model``'s keys and shapes.

    Args:
        state: the state dict to check.
        model: the module it should fill.
        source: names the state dict in the message (e.g. ``'checkpoint a.pth'``).
        target: names the model in the message (e.g. ``'model EncoderDecoder'``).
        hint: appended to the message in parentheses.
    """
    from .errors import CheckpointMismatchError

    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [f'{k}: {tuple(state[k].shape)} vs {tuple(expected[k].shape)}' for k in expected
                  if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or mismatched:
        def show(keys):
            return ', '.join(keys[:3]) + (' ...' if len(keys) > 3 else '')
        parts = []
        if missing:
            parts.append(f'{len(missing)} of the model\'s {len(expected)} keys missing ({show(missing)})')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected keys ({show(unexpected)})')
        if mismatched:
            parts.append(f'{len(mismatched)} shape mismatches ({show(mismatched)})')
        raise CheckpointMismatchError(f'{source} does not match {target}: ' + '; '.join(parts)
                                      + (f' ({hint})' if hint else ''))
