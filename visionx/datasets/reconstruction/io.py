"""Readers of the Occupancy-Networks ``.npz`` files with explicit errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from visionx.utils.errors import DataFormatError, UserFileNotFoundError


def load_npz(path: str | Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Load ``keys`` from an ``.npz`` file.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is unreadable or lacks a key.
    """
    path = Path(path)
    if not path.is_file():
        raise UserFileNotFoundError(f'{path} not found (expected an Occupancy-Networks .npz with keys {keys})')
    try:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as err:  # zipfile.BadZipFile, OSError, EOFError, refused pickles...
        raise DataFormatError(f'{path} is not a readable .npz file ({err}); expected keys {keys}') from err
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise DataFormatError(f'{path} lacks keys {missing}; it has {sorted(arrays)}, expected {keys}')
    return arrays


def unpack_occupancies(packed: np.ndarray, n: int) -> np.ndarray:
    """``np.unpackbits(packed)[:n]`` as float32 (the ONet storage of occupancies)."""
    occ = np.unpackbits(np.asarray(packed, np.uint8))
    if occ.size < n:
        raise DataFormatError(f'packed occupancies hold {occ.size} bits, fewer than the {n} points')
    return occ[:n].astype(np.float32)


def load_query_points(path: str | Path, rng: np.random.Generator | None = None,
                      jitter: float = 1e-4) -> dict[str, np.ndarray]:
    """Query points + occupancies (+ ``contrastive`` if present) of a ``points.npz``-style file.

    float16 points are cast to float32 and jittered by ``jitter * N(0, 1)`` to break symmetry, as the
    official loader does.
    """
    data = load_npz(path, ('points', 'occupancies'))
    points = data['points']
    if points.ndim != 2 or points.shape[1] != 3:
        raise DataFormatError(f'{path}: "points" must be (N, 3), got {points.shape}')
    was_half = points.dtype == np.float16
    points = points.astype(np.float32)
    if was_half and jitter:
        rng = rng if rng is not None else np.random.default_rng(np.random.randint(0, 2**31 - 1))
        points = points + (jitter * rng.standard_normal(points.shape)).astype(np.float32)
    out = dict(points=points, occ=unpack_occupancies(data['occupancies'], len(points)))
    if 'contrastive' in data:
        out['contrastive'] = np.asarray(data['contrastive']).astype(bool)[:len(points)]
    return out


def load_surface(path: str | Path, with_normals: bool = True) -> dict[str, np.ndarray]:
    """Surface points (N, 3) (+ normals) of a ``pointcloud.npz``-style file as float32."""
    keys = ('points', 'normals') if with_normals else ('points',)
    data = load_npz(path, keys)
    points = data['points'].astype(np.float32)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) == 0:
        raise DataFormatError(f'{path}: "points" must be a non-empty (N, 3) array, got {points.shape}')
    out = dict(points=points)
    if with_normals:
        out['normals'] = data['normals'].astype(np.float32)
    return out
