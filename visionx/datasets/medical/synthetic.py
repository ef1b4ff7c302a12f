"""Synthetic 3D volumes in the LA layout, for the TraCoCo demo and tests.

Each case is an "atrium-like" structure: a bright, irregular blob (a union of ellipsoids deformed by a
smooth random field) with internal holes and thin tubular appendages, next to an unlabelled distractor of
similar but lower intensity; the image is blurred (partial volume), multiplied by a smooth bias field,
corrupted by Gaussian noise and z-scored (like the UA-MT ``mri_norm2.h5`` files).  Written as
``<root>/data/<case>/mri_norm2.h5`` (datasets ``image`` float32 and ``label`` uint8) with ``train.list``
and ``eval.list`` in ``<root>``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage
from tqdm import tqdm

from visionx.utils import atomic_path


def _smooth_field(shape: tuple[int, int, int], rng: np.random.Generator, sigma: float) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    return field / (np.abs(field).max() + 1e-8)


def _tube(grid: np.ndarray, start: np.ndarray, direction: np.ndarray, length: float, radius: float) -> np.ndarray:
    rel = grid - start[:, None, None, None]
    t = np.clip(np.tensordot(direction, rel, axes=1), 0, length)
    closest = start[:, None, None, None] + direction[:, None, None, None] * t
    return ((grid - closest) ** 2).sum(0) <= radius**2


def make_volume(shape: tuple[int, int, int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic case.

    Args:
        shape: (X, Y, Z).
        rng: Random generator.

    Returns:
        ``image`` float32 (X, Y, Z), z-scored, and ``label`` uint8 (X, Y, Z) in {0, 1}.
    """
    shape = tuple(int(s) for s in shape)
    grid = np.stack(np.meshgrid(*[np.arange(s, dtype=np.float32) for s in shape], indexing='ij'))
    dims = np.array(shape, np.float32)
    centre = dims * rng.uniform(0.4, 0.6, 3)
    label = np.zeros(shape, bool)
    for _ in range(rng.integers(2, 4)):  # irregular body: a few overlapping ellipsoids
        c = centre + rng.normal(0, 0.06, 3) * dims
        r = dims * rng.uniform(0.12, 0.22, 3)
        label |= (((grid - c[:, None, None, None]) / r[:, None, None, None]) ** 2).sum(0) <= 1
    label &= _smooth_field(shape, rng, 3.0) > -0.45
    for _ in range(rng.integers(1, 3)):  # holes inside the body
        inside = np.argwhere(ndimage.binary_erosion(label, iterations=2))
        if len(inside) == 0:
            break
        c = inside[rng.integers(len(inside))].astype(np.float32)
        label &= ((grid - c[:, None, None, None]) ** 2).sum(0) > rng.uniform(1.5, 3.0) ** 2
    for _ in range(rng.integers(2, 4)):  # thin appendages leaving the body
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        label |= _tube(grid, centre, d.astype(np.float32), float(dims.min() * rng.uniform(0.35, 0.5)),
                       float(rng.uniform(1.0, 1.8)))
    # An unlabelled distractor of lower intensity, away from the body.
    offset = rng.choice([-1, 1], 3) * dims * rng.uniform(0.25, 0.32, 3)
    dc = np.clip(centre + offset, dims * 0.1, dims * 0.9)
    distractor = (((grid - dc[:, None, None, None]) / (dims * 0.08)[:, None, None, None]) ** 2).sum(0) <= 1
    distractor &= ~ndimage.binary_dilation(label, iterations=2)
    image = 1.0 * label + 0.55 * distractor + 0.1 * _smooth_field(shape, rng, 4.0)
    image = ndimage.gaussian_filter(image, 0.8)
    image *= np.exp(0.35 * _smooth_field(shape, rng, 10.0))  # bias field
    image += rng.normal(0, 0.18, shape)
    image = (image - image.mean()) / (image.std() + 1e-8)
    return image.astype(np.float32), label.astype(np.uint8)


def make_demo(root: Path, seed: int = 0, small: bool = False) -> None:
    """Write the TraCoCo demo dataset (LA layout) under ``root``.

    Full: 16 training cases (the demo configs label the first 4) and 4 evaluation cases of 48 × 48 × 40.
    ``small=True``: 6 training and 2 evaluation cases of 40 × 40 × 32.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    n_train, n_eval = (6, 2) if small else (16, 4)
    base = np.array((40, 40, 32) if small else (48, 48, 40))
    splits = {'train': [f'train_{i:03d}' for i in range(n_train)], 'eval': [f'eval_{i:03d}' for i in range(n_eval)]}
    import h5py
    cases = [c for names in splits.values() for c in names]
    for case in tqdm(cases, desc='tracoco demo volumes', leave=False):
        shape = tuple(base + rng.integers(0, 5, 3))  # sizes vary a little, like real scans
        image, label = make_volume(shape, rng)
        out = root / 'data' / case / 'mri_norm2.h5'
        with atomic_path(out) as tmp:
            with h5py.File(tmp, 'w') as f:
                f.create_dataset('image', data=image)
                f.create_dataset('label', data=label)
    for split, names in splits.items():
        # Official lists end with an empty line.
        (root / f'{split}.list').write_text('\n'.join(names) + '\n')


#: Official file naming and case lists of the three TraCoCo benchmarks (see ``h5_dataset.py``):
#: folder -> (file of case ``<id>`` under ``data/``, training list, evaluation list).
BENCHMARK_LAYOUTS: dict[str, tuple[str, str, str]] = {
    'LA': ('{case}/mri_norm2.h5', 'train.list', 'eval.list'),
    'Pancreas': ('{case}_norm.h5', 'train.list', 'eval.list'),
    'BraTS19': ('{case}.h5', 'train.list', 'test.list'),
}


def make_benchmark_layout(root: Path, name: str, n_train: int, n_eval: int, seed: int = 0,
                          shape: tuple[int, int, int] = (24, 24, 16)) -> None:
    """Write tiny synthetic cases in the official on-disk layout of benchmark ``name`` under ``root``.

    The official lists hold 80 (LA), 62 (Pancreas) and 249 (BraTS19) training cases; configs label up to 50
    of them, so ``n_train`` must be at least the largest ``labeled_num`` a config uses.  Volumes are small
    (``shape`` plus up to 2 voxels per axis) because only the layout is exercised.

    Args:
        root: Output folder (gets ``data/`` and the two lists).
        name: ``'LA'``, ``'Pancreas'`` or ``'BraTS19'``.
        n_train: Number of training cases.
        n_eval: Number of evaluation cases.
        seed: Random seed.
        shape: Base volume shape (X, Y, Z).
    """
    import h5py
    if name not in BENCHMARK_LAYOUTS:
        raise KeyError(f'unknown TraCoCo benchmark {name!r}; known: {sorted(BENCHMARK_LAYOUTS)}')
    template, train_list, eval_list = BENCHMARK_LAYOUTS[name]
    root = Path(root)
    rng = np.random.default_rng(seed)
    splits = {train_list: [f'{name.lower()}_train_{i:03d}' for i in range(n_train)],
              eval_list: [f'{name.lower()}_eval_{i:03d}' for i in range(n_eval)]}
    for names in splits.values():
        for case in names:
            image, label = make_volume(tuple(np.asarray(shape) + rng.integers(0, 3, 3)), rng)
            out = root / 'data' / template.format(case=case)
            with atomic_path(out) as tmp:
                with h5py.File(tmp, 'w') as f:
                    f.create_dataset('image', data=image)
                    f.create_dataset('label', data=label)
    for list_name, names in splits.items():
        (root / list_name).write_text('\n'.join(names) + '\n')
