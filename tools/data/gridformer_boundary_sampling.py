#!/usr/bin/env python
"""Precompute GridFormer's boundary query points (stage 2) for an Occupancy-Networks dataset.

For every model listed in ``<root>/<class>/*.lst`` it reads ``points.npz``, flags each query point that has a
neighbour of the other label within ``--radius`` (0.08) among its ``--k`` (100) nearest neighbours
(scipy KD-tree) and writes, as the official ``scripts/boundary_sampling.py``::

    <model>/boundary0.08/boundary_points.npz   every key of points.npz + contrastive (uint8, N)
    <model>/boundary0.08/boundary_value.npy    contrastive flags
    <model>/boundary0.08/boundary.xyz          "x y z r g b" per query (red = boundary) for inspection

``--rooms`` handles Synthetic Rooms (``points_iou/points_iou_XX.npz`` ->
``points_iou/boundary0.08/boundary_points_XX.npz``).  Files already written are skipped (resumable); every
file is written atomically.  Usage::

    python tools/data/gridformer_boundary_sampling.py data/ShapeNet --workers 8
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
from pathlib import Path

import numpy as np
from tqdm import tqdm

from visionx.datasets.reconstruction.boundary import boundary_mask
from visionx.datasets.reconstruction.io import load_npz, unpack_occupancies
from visionx.utils import ConfigError, DataFormatError, UserFileNotFoundError, atomic_path
from visionx.utils.cli import run_tool


def jobs(root: Path, rooms: bool, radius: float) -> list[tuple[Path, Path]]:
    """(source points file, target boundary file) pairs of every listed model."""
    if not root.is_dir():
        raise UserFileNotFoundError(f'{root} not found (expected <root>/<class>/<split>.lst and model folders)')
    out = []
    sub = f'boundary{radius:g}'
    for lst in sorted(root.glob('*/*.lst')):
        for model in lst.read_text().split():
            model_dir = lst.parent / model
            if rooms:
                for src in sorted((model_dir / 'points_iou').glob('points_iou_*.npz')):
                    idx = src.stem.split('_')[-1]
                    out.append((src, model_dir / 'points_iou' / sub / f'boundary_points_{idx}.npz'))
            else:
                out.append((model_dir / 'points.npz', model_dir / sub / 'boundary_points.npz'))
    return sorted(set(out))


def process(job: tuple[Path, Path], radius: float = 0.08, k: int = 100, inspection: bool = True) -> str:
    src, dst = job
    if dst.is_file():
        return 'skipped'
    data = load_npz(src, ('points', 'occupancies'))
    try:
        points = data['points'].astype(np.float32)
        occ = unpack_occupancies(data['occupancies'], len(points))
        flags = boundary_mask(points, occ, radius, k)
    except ValueError as exc:  # wrong shapes, empty arrays: the file is at fault
        raise DataFormatError(f'{src}: {exc}') from None
    if inspection and dst.name == 'boundary_points.npz':
        with atomic_path(dst.parent / 'boundary_value.npy') as tmp:
            np.save(tmp, flags)
        colours = np.where(flags[:, None] > 0, [255, 0, 0], [128, 128, 128])
        with atomic_path(dst.parent / 'boundary.xyz') as tmp:
            np.savetxt(tmp, np.hstack([points, colours]), fmt='%.5f %.5f %.5f %d %d %d')
    with atomic_path(dst) as tmp:  # written last: its presence marks the model as done
        np.savez(tmp, **data, contrastive=flags)
    return 'written'


def _work(args):
    job, radius, k, inspection = args
    return process(job, radius, k, inspection)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', type=Path, help='dataset root (data/ShapeNet or data/synthetic_room_dataset)')
    parser.add_argument('--radius', type=float, default=0.08)
    parser.add_argument('--k', type=int, default=100, help='maximum neighbours per query')
    parser.add_argument('--workers', type=int, default=max(1, mp.cpu_count() // 2))
    parser.add_argument('--rooms', action='store_true', help='Synthetic Rooms layout (points_iou_XX.npz)')
    parser.add_argument('--no-inspection', action='store_true', help='skip boundary_value.npy / boundary.xyz')
    args = parser.parse_args(argv)
    if args.radius <= 0 or args.k < 1 or args.workers < 1:
        raise ConfigError(f'need --radius > 0, --k >= 1 and --workers >= 1, got {args.radius}, {args.k}, '
                          f'{args.workers}')
    todo = jobs(args.root, args.rooms, args.radius)
    if not todo:
        raise UserFileNotFoundError(f'no models listed in {args.root}/*/*.lst')
    work = [(j, args.radius, args.k, not args.no_inspection) for j in todo]
    counts = {'written': 0, 'skipped': 0}
    if args.workers > 1:
        with mp.Pool(args.workers) as pool:
            for status in tqdm(pool.imap_unordered(_work, work), total=len(work), desc='boundary'):
                counts[status] += 1
    else:
        for w in tqdm(work, desc='boundary'):
            counts[_work(w)] += 1
    print(f'{counts["written"]} written, {counts["skipped"]} already present')
    return 0


if __name__ == '__main__':
    run_tool(main)
