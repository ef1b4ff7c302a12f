"""Soft-label files of TopoMortar's self-distillation: layout and I/O.

The self-distillation loop writes them and the ``LoadSoftLabels`` transform reads them, one ``.npy`` file
per training image::

    <soft_label_dir>/<image stem>.npy      float32 (C, H, W), C = 2 for TopoMortar, sums to 1 over C

at the image's original resolution.  The format lives here, below both, so that neither the engine nor the
datasets import the other.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import DataFormatError, UserFileNotFoundError
from .io import atomic_path

SOFT_LABEL_KEY = 'gt_soft_seg'


def soft_label_path(soft_label_dir: str | os.PathLike, img_path: str | os.PathLike) -> Path:
    """Path of the soft label of ``img_path``: ``<soft_label_dir>/<image stem>.npy``."""
    return Path(soft_label_dir) / f'{Path(img_path).stem}.npy'


def check_soft_label(probs: np.ndarray, where: str = 'soft label', atol: float = 1e-3) -> None:
    """Raise ``ValueError`` unless ``probs`` is a (C, H, W) probability map (C >= 2, sums to 1 over C).

    Args:
        probs: the array to check.
        where: names the array (a path) in the error message.
        atol: tolerance of the range and sum checks.
    """
    if probs.ndim != 3 or probs.shape[0] < 2:
        raise DataFormatError(f'{where}: expected a (C, H, W) probability map with C >= 2, got shape {probs.shape}')
    if not np.isfinite(probs).all() or probs.min() < -atol or probs.max() > 1 + atol:
        raise DataFormatError(f'{where}: probabilities must lie in [0, 1], got values in '
                         f'[{float(np.nanmin(probs))}, {float(np.nanmax(probs))}]')
    err = float(np.abs(probs.sum(0) - 1).max())
    if err > atol:
        raise DataFormatError(f'{where}: probabilities must sum to 1 over the {probs.shape[0]} channels '
                         f'(largest deviation {err:.3g})')


def save_soft_label(path: str | os.PathLike, probs: np.ndarray) -> None:
    """Write a (C, H, W) probability map as float32 ``.npy``, atomically (temporary file + rename).

    Args:
        path: destination, ending in ``.npy``.
        probs: (C, H, W) probabilities summing to 1 over C.
    """
    path = Path(path)
    if path.suffix != '.npy':
        raise DataFormatError(f'soft labels are .npy files, got {path}')
    probs = np.ascontiguousarray(probs, dtype=np.float32)
    check_soft_label(probs, str(path))
    with atomic_path(path) as tmp:
        np.save(tmp, probs)


def load_soft_label(path: str | os.PathLike) -> np.ndarray:
    """Read a soft label written by :func:`save_soft_label`.

    Returns:
        (C, H, W) float32 probabilities.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a (C, H, W) probability map.
    """
    path = Path(path)
    if not path.is_file():
        raise UserFileNotFoundError(f'soft label {path} not found: expected a float32 (C, H, W) .npy of the '
                                'previous self-distillation round\'s softmax for this training image')
    probs = np.load(path, allow_pickle=False)
    check_soft_label(probs, str(path))
    return probs.astype(np.float32, copy=False)
