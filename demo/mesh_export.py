#!/usr/bin/env python
"""Reconstruct a mesh from a point cloud (or a sampled mesh) with a trained GridFormer checkpoint.

    python demo/mesh_export.py INPUT CHECKPOINT --out mesh.ply [--config CFG] [--render views.png]
        [--num-points 3000] [--resolution 256] [--device cpu] [--threads N] [--precision auto]

INPUT: ``.ply``/``.xyz``/``.pts``/``.npz`` (key ``points``) point cloud or a ``.obj``/``.off``/``.ply`` mesh
(surface-sampled).  Any scale / position: the points are normalised into the unit cube (centre of the bounding
box, longest side 1, as the training data) and the mesh is mapped back.  The output format follows the
extension of ``--out`` (``.ply``, ``.obj``, ``.off``).  Queries are chunked, so 1M-point clouds work (they
are subsampled to ``--num-points`` inputs for the encoder, as in training).

Without ``--config`` the config stored in the checkpoint by ``tools/train.py`` is used; the checkpoint must
be a GridFormer checkpoint matching that config exactly (:func:`visionx.apis.inference.init_model`).  Options,
the input file and the checkpoint are checked before the (long) mesh extraction.  User errors (bad option,
missing or malformed input, wrong checkpoint) print one ``error:`` line naming the file and exit with
status 2; nothing is written.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from visionx.utils import ConfigError, DataFormatError, UserFileNotFoundError  # noqa: E402

POINT_SUFFIXES = ('.xyz', '.pts', '.txt', '.npz', '.ply')
MESH_SUFFIXES = ('.obj', '.off', '.stl', '.glb')
MESH_OUT_SUFFIXES = ('.ply', '.obj', '.off')
RENDER_SUFFIXES = ('.png', '.jpg', '.jpeg')


def _read_text_points(path: Path) -> np.ndarray:
    """Rows of whitespace- or comma-separated numbers (``#`` comments allowed); the first 3 columns are xyz."""
    rows = []
    with open(path, errors='replace') as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.split('#', 1)[0].replace(',', ' ').strip()
            if not line:
                continue
            try:
                values = [float(v) for v in line.split()]
            except ValueError:
                raise DataFormatError(
                    f'{path}: line {lineno} is not numeric ({line[:40]!r}); expected rows of at least 3 '
                    'numbers "x y z [...]" (comment a header line out with "#")') from None
            if len(values) < 3:
                raise DataFormatError(f'{path}: line {lineno} has {len(values)} values; expected rows of at '
                                      'least 3 numbers "x y z [...]"')
            rows.append(values[:3])
    return np.asarray(rows, np.float64).reshape(-1, 3)


def load_points(path: Path, num_samples: int = 100000) -> np.ndarray:
    """(N, 3) float64 points of a point-cloud or mesh file.

    Raises:
        UserFileNotFoundError: no such file.
        DataFormatError: unreadable file, fewer than 2 points, NaN/Inf rows, or all points identical (each
            message names the file and what was expected).
    """
    import trimesh
    if not path.is_file():
        raise UserFileNotFoundError(f'{path} not found (expected .ply/.xyz/.pts/.npz point cloud or .obj/.off '
                                    'mesh)')
    suffix = path.suffix.lower()
    if suffix not in POINT_SUFFIXES + MESH_SUFFIXES:
        raise DataFormatError(f'{path}: unsupported extension {suffix!r} (use .ply/.xyz/.pts/.txt/.npz/.obj/.off/'
                              '.stl/.glb)')
    if path.stat().st_size == 0:
        raise DataFormatError(f'{path}: empty file (0 bytes); expected a point cloud or a mesh')
    try:
        if suffix in ('.xyz', '.pts', '.txt'):
            try:  # numpy's C parser is fast on large clouds; the line scanner explains failures
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore', UserWarning)  # "input contained no data"
                    pts = np.loadtxt(path, ndmin=2)[:, :3]
            except ValueError:
                pts = _read_text_points(path)
        elif suffix == '.npz':
            with np.load(path) as d:
                if 'points' not in d.files:
                    raise DataFormatError(f'{path} has no "points" array (keys: {d.files}); expected an (N, 3) '
                                          'array named "points"')
                pts = d['points']
        else:
            geom = trimesh.load(path, process=False)
            if isinstance(geom, trimesh.Scene):
                geom = geom.dump(concatenate=True)
            if isinstance(geom, trimesh.Trimesh) and len(geom.faces):
                pts = trimesh.sample.sample_surface(geom, num_samples, seed=0)[0]
            elif isinstance(geom, trimesh.Trimesh) and suffix != '.ply':
                raise DataFormatError(f'{path} is a mesh with no faces; give a point cloud or a mesh with faces')
            else:
                pts = np.asarray(geom.vertices)
    except DataFormatError:
        raise
    except Exception as err:  # noqa: BLE001 - any reader failure on a user file
        raise DataFormatError(f'{path} could not be read as a point cloud or mesh ({type(err).__name__}: '
                              f'{err})') from None
    pts = np.asarray(pts, np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise DataFormatError(f'{path}: expected (N, 3) coordinates, got an array of shape {pts.shape}')
    if len(pts) < 2:
        raise DataFormatError(f'{path}: {len(pts)} point(s); need at least 2 points of 3 coordinates')
    bad = ~np.isfinite(pts).all(1)
    if bad.any():
        raise DataFormatError(f'{path}: {int(bad.sum())} of {len(pts)} points have NaN or Inf coordinates '
                              f'(first: point {int(np.argmax(bad))}); expected finite x y z')
    if np.ptp(pts, axis=0).max() == 0:
        raise DataFormatError(f'{path}: all points are identical; expected a spread-out point cloud')
    return pts


def normalise(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Points in the unit cube and the (loc, scale) that maps them back: ``world = unit * scale + loc``."""
    loc = (points.min(0) + points.max(0)) / 2
    scale = float(np.ptp(points, axis=0).max())
    return (points - loc) / scale, loc, scale


def render(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, path: Path) -> None:
    """The input points and two shaded views of the mesh side by side as a PNG (the ``--show-dir`` rendering)."""
    import cv2
    from visionx.utils import atomic_path
    from visionx.visualization import render_mesh
    show = points[np.random.default_rng(0).choice(len(points), min(len(points), 20000), replace=False)]
    image = render_mesh(vertices, faces, show, size=384)
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), image[..., ::-1]):
            raise OSError(f'cannot write {path}')


@contextlib.contextmanager
def _query_progress(model: torch.nn.Module) -> Iterator[tqdm]:
    """Count the occupancy queries ``model.decode`` evaluates during mesh extraction (a tqdm bar with rate).

    The number of queries of the sparse marching cubes depends on the surface, so the bar has no total.
    """
    bar = tqdm(desc='mesh extraction', unit='query', unit_scale=True, file=sys.stderr)
    decode = model.decode

    def counting_decode(q: torch.Tensor, *args, **kwargs):
        bar.update(int(q.shape[1]))
        return decode(q, *args, **kwargs)

    model.decode = counting_decode
    try:
        yield bar
    finally:
        del model.decode  # back to the class method


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from visionx.apis.inference import add_runtime_args
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('input', type=Path, help='point cloud (.ply/.xyz/.pts/.npz) or mesh (.obj/.off/.ply)')
    parser.add_argument('checkpoint', type=Path, help='GridFormer checkpoint written by tools/train.py')
    parser.add_argument('--out', type=Path, required=True, help='mesh file (.ply, .obj or .off)')
    parser.add_argument('--render', type=Path, help='PNG with views of input and result')
    parser.add_argument('--num-points', type=int, default=3000, help='input points given to the encoder')
    parser.add_argument('--resolution', type=int, help='marching-cubes resolution (config default: 256)')
    add_runtime_args(parser)
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    """Refuse bad options before any file is read or model built."""
    if args.out.suffix.lower() not in MESH_OUT_SUFFIXES:
        raise ConfigError(f'--out must end in .ply, .obj or .off, got {args.out}')
    if args.render is not None and args.render.suffix.lower() not in RENDER_SUFFIXES:
        raise ConfigError(f'--render must end in .png or .jpg, got {args.render}')
    from visionx.utils import check_output_path
    check_output_path(args.out, '--out')  # both, before the mesh: no mesh written without its render
    if args.render is not None:
        check_output_path(args.render, '--render')
    if args.num_points < 1:
        raise ConfigError(f'--num-points must be >= 1, got {args.num_points}')
    if args.resolution is not None and args.resolution < 2:
        raise ConfigError(f'--resolution must be >= 2, got {args.resolution}')


def main(argv: list[str] | None = None) -> int:
    """Export one mesh.  User errors raise :class:`~visionx.utils.VisionXUserError` (``run_tool``: exit 2)."""
    args = parse_args(argv)
    check_args(args)
    from visionx.apis.inference import apply_runtime_args, init_model
    from visionx.visualization import save_mesh

    device = apply_runtime_args(args)
    points = load_points(args.input)
    unit, loc, scale = normalise(points)
    model, _ = init_model(args.checkpoint, args.config, ('GridFormer',), 'mesh export', device)
    rng = np.random.default_rng(0)
    inputs = unit[rng.integers(0, len(unit), args.num_points)] if len(unit) != args.num_points else unit
    x = torch.as_tensor(inputs, dtype=torch.float32, device=device)[None]
    overrides = {} if args.resolution is None else dict(resolution=args.resolution)
    if overrides and model.mesh_settings()[0] != 'sparse_mc':
        raise ConfigError(f"--resolution sets the sparse marching cubes' grid, but the checkpoint's config meshes "
                          f"with {model.mesh_settings()[0]!r}; set its options with --config instead")
    from visionx.utils.precision import autocast
    with torch.inference_mode(), autocast(args.precision, device), _query_progress(model) as bar:
        vertices, faces = model.extract_mesh(model.encode(x), x[0], **overrides)
    bar.close()
    if len(faces) == 0:
        raise DataFormatError(f'{args.input}: the network predicts no surface for this input (empty mesh)')
    vertices = vertices * scale + loc
    save_mesh(vertices, faces, args.out)
    print(f'wrote {args.out}: {len(vertices)} vertices, {len(faces)} faces')
    if args.render:
        render(points, vertices, faces, args.render)
        print(f'wrote {args.render}')
    return 0


if __name__ == '__main__':
    from visionx.utils.cli import run_tool
    run_tool(main)
