#!/usr/bin/env python
"""Reconstruct a mesh from a point cloud (or a sampled mesh) with a trained GridFormer checkpoint.

    python demo/mesh_export.py INPUT CHECKPOINT [--config CFG] --out mesh.ply [--render views.png]

INPUT: ``.ply``/``.xyz``/``.pts``/``.npz`` (key ``points``) point cloud or a ``.obj``/``.off``/``.ply`` mesh
(surface-sampled).  Any scale / position: the points are normalised into the unit cube (centre of the bounding
box, longest side 1, as the training data) and the mesh is mapped back.  The output format follows the
extension of ``--out`` (``.ply``, ``.obj``, ``.off``).  Queries are chunked, so 1M-point clouds work (they
are subsampled to ``--num-points`` inputs for the encoder, as in training).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch


def load_points(path: Path, num_samples: int = 100000) -> np.ndarray:
    """(N, 3) float64 points of a point-cloud or mesh file; clear errors for unreadable / degenerate input."""
    import trimesh
    if not path.is_file():
        raise FileNotFoundError(f'{path} not found (expected .ply/.xyz/.pts/.npz point cloud or .obj/.off mesh)')
    suffix = path.suffix.lower()
    try:
        if suffix in ('.xyz', '.pts', '.txt'):
            pts = np.loadtxt(path, ndmin=2)[:, :3]
        elif suffix == '.npz':
            with np.load(path) as d:
                if 'points' not in d.files:
                    raise ValueError(f'{path} has no "points" array (keys: {d.files})')
                pts = d['points']
        elif suffix in ('.ply', '.obj', '.off', '.stl', '.glb'):
            geom = trimesh.load(path, process=False)
            if isinstance(geom, trimesh.Scene):
                geom = geom.dump(concatenate=True)
            if isinstance(geom, trimesh.Trimesh) and len(geom.faces):
                pts = trimesh.sample.sample_surface(geom, num_samples, seed=0)[0]
            elif isinstance(geom, trimesh.Trimesh) and suffix != '.ply':
                raise ValueError(f'{path} is a mesh with no faces; give a point cloud or a mesh with faces')
            else:
                pts = np.asarray(geom.vertices)
        else:
            raise ValueError(f'{path}: unsupported extension {suffix!r} (use .ply/.xyz/.pts/.npz/.obj/.off)')
    except (ValueError, FileNotFoundError):
        raise
    except Exception as err:
        raise ValueError(f'{path} could not be read as a point cloud or mesh ({err})') from err
    pts = np.asarray(pts, np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) < 2:
        raise ValueError(f'{path}: need at least 2 points of 3 coordinates, got shape {pts.shape}')
    if not np.isfinite(pts).all():
        raise ValueError(f'{path}: NaN or Inf coordinates')
    if np.ptp(pts, axis=0).max() == 0:
        raise ValueError(f'{path}: all points are identical')
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('input', type=Path)
    parser.add_argument('checkpoint', type=Path)
    parser.add_argument('--config', type=Path,
                        default=Path('configs/gridformer/gridformer_3plane64_2xb16-stage2-201e_shapenet-3k.py'))
    parser.add_argument('--out', type=Path, required=True, help='mesh file (.ply, .obj or .off)')
    parser.add_argument('--render', type=Path, help='PNG with views of input and result')
    parser.add_argument('--num-points', type=int, default=3000, help='input points given to the encoder')
    parser.add_argument('--resolution', type=int, help='marching-cubes resolution (config default: 256)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args()
    if args.out.suffix.lower() not in ('.ply', '.obj', '.off'):
        raise ValueError(f'--out must end in .ply, .obj or .off, got {args.out}')
    from mmengine import Config
    from mmengine.runner import load_checkpoint
    import visionx  # noqa: F401
    from visionx.registry import MODELS
    from visionx.visualization import save_mesh

    points = load_points(args.input)
    unit, loc, scale = normalise(points)
    cfg = Config.fromfile(args.config)
    model = MODELS.build(cfg.model).to(args.device).eval()
    if not args.checkpoint.is_file():
        raise FileNotFoundError(f'{args.checkpoint} not found (expected a VisionX GridFormer .pth)')
    load_checkpoint(model, str(args.checkpoint), map_location='cpu')
    rng = np.random.default_rng(0)
    inputs = unit[rng.integers(0, len(unit), args.num_points)] if len(unit) != args.num_points else unit
    x = torch.as_tensor(inputs, dtype=torch.float32, device=args.device)[None]
    overrides = {} if args.resolution is None else dict(resolution=args.resolution)
    with torch.no_grad():
        vertices, faces = model.extract_mesh(model.encode(x), x[0], **overrides)
    if len(faces) == 0:
        raise ValueError('the network predicts no surface for this input (empty mesh)')
    vertices = vertices * scale + loc
    save_mesh(vertices, faces, args.out)
    print(f'wrote {args.out}: {len(vertices)} vertices, {len(faces)} faces')
    if args.render:
        render(points, vertices, faces, args.render)
        print(f'wrote {args.render}')


if __name__ == '__main__':
    main()
