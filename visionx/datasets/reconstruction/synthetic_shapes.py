"""Synthetic shapes in the ShapeNet / Occupancy-Networks layout, for GridFormer's demo and tests.

Every shape is a signed distance function (SDF) built from primitives - sphere, box, torus, capsule, cone -
or a union / difference of two of them, with random size, rotation and offset.  A watertight mesh is
extracted from the SDF by marching cubes, the mesh is normalised into the unit cube (``loc``, ``scale``
as ONet: the bounding box's centre and longest side), surface points + normals are sampled from it
(``pointcloud.npz``) and uniform queries in the padded box [-0.55, 0.55]^3 are labelled by the sign of the
SDF (``points.npz``, float16 points and ``np.packbits`` occupancies).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import trimesh
import yaml
from skimage import measure

Sdf = Callable[[np.ndarray], np.ndarray]

#: (synset-like folder id, readable name) of the demo categories.
CATEGORIES = [('90000001', 'sphere'), ('90000002', 'box'), ('90000003', 'torus'), ('90000004', 'capsule'),
              ('90000005', 'cone'), ('90000006', 'union'), ('90000007', 'difference')]


def _sphere(r: float) -> Sdf:
    return lambda p: np.linalg.norm(p, axis=-1) - r


def _box(h: np.ndarray) -> Sdf:
    def f(p):
        q = np.abs(p) - h
        return np.linalg.norm(np.maximum(q, 0), axis=-1) + np.minimum(q.max(-1), 0)
    return f


def _torus(big: float, small: float) -> Sdf:
    return lambda p: np.hypot(np.hypot(p[..., 0], p[..., 2]) - big, p[..., 1]) - small


def _capsule(half: float, r: float) -> Sdf:
    def f(p):
        q = p.copy()
        q[..., 1] -= np.clip(q[..., 1], -half, half)
        return np.linalg.norm(q, axis=-1) - r
    return f


def _cone(r: float, h: float) -> Sdf:
    """Capped cone with base radius r at y = -h/2 and apex at y = +h/2 (exact SDF of a 2D triangle)."""
    def f(p):
        x = np.hypot(p[..., 0], p[..., 2])
        y = p[..., 1]
        # 2D triangle (0, -h/2), (r, -h/2), (0, h/2) in the (x, y) half plane, revolved around y.
        a, b = np.array([r, -h / 2]), np.array([0.0, h / 2])
        pq = np.stack([x - a[0], y - a[1]], -1)
        e = b - a
        t = np.clip((pq @ e) / (e @ e), 0, 1)
        d_side = np.linalg.norm(pq - t[..., None] * e, axis=-1)
        d_base = np.where(x <= r, np.abs(y + h / 2), np.hypot(x - r, y + h / 2))
        inside = (y > -h / 2) & (x * h < r * (h / 2 - y))
        d = np.minimum(d_side, d_base)
        return np.where(inside, -d, d)
    return f


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _transformed(sdf: Sdf, rot: np.ndarray, offset: np.ndarray) -> Sdf:
    return lambda p: sdf((p - offset) @ rot)


def _primitive(kind: str, rng: np.random.Generator) -> Sdf:
    u = rng.uniform
    if kind == 'sphere':
        return _sphere(u(0.2, 0.35))
    if kind == 'box':
        return _box(u(0.1, 0.35, 3))
    if kind == 'torus':
        big = u(0.2, 0.3)
        return _torus(big, u(0.05, 0.45) * big)
    if kind == 'capsule':
        return _capsule(u(0.1, 0.25), u(0.08, 0.18))
    if kind == 'cone':
        return _cone(u(0.15, 0.3), u(0.3, 0.6))
    raise ValueError(f'unknown primitive {kind!r}')


PRIMITIVES = ('sphere', 'box', 'torus', 'capsule', 'cone')


def random_shape_sdf(category: str, rng: np.random.Generator) -> Sdf:
    """A random SDF of a demo ``category`` name (see :data:`CATEGORIES`)."""
    if category in PRIMITIVES:
        return _transformed(_primitive(category, rng), _random_rotation(rng), np.zeros(3))
    if category not in ('union', 'difference'):
        raise ValueError(f'unknown category {category!r}')
    a = _transformed(_primitive(str(rng.choice(PRIMITIVES)), rng), _random_rotation(rng), rng.uniform(-.1, .1, 3))
    b = _transformed(_primitive(str(rng.choice(PRIMITIVES)), rng), _random_rotation(rng),
                     rng.uniform(-.2, .2, 3))
    if category == 'union':
        return lambda p: np.minimum(a(p), b(p))
    return lambda p: np.maximum(a(p), -b(p))


def sdf_to_mesh(sdf: Sdf, resolution: int = 64, extent: float = 0.8) -> trimesh.Trimesh:
    """Watertight mesh of ``sdf < 0`` by marching cubes on ``[-extent, extent]^3``."""
    axis = np.linspace(-extent, extent, resolution)
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing='ij'), -1)
    values = sdf(grid.reshape(-1, 3)).reshape((resolution,) * 3)
    values = np.pad(values, 1, constant_values=1.0)  # closes the surface if a shape touches the border
    verts, faces, _, _ = measure.marching_cubes(values, level=0.0)
    step = 2 * extent / (resolution - 1)
    verts = (verts - 1) * step - extent
    mesh = trimesh.Trimesh(verts, faces, process=True)
    if mesh.volume < 0:  # make the normals point outwards whatever skimage's winding convention
        mesh.invert()
    return mesh


def make_shape(category: str, rng: np.random.Generator, n_points: int = 100000, mc_resolution: int = 64,
               max_tries: int = 20) -> tuple[trimesh.Trimesh, dict, dict]:
    """One shape: normalised mesh, ``pointcloud.npz`` and ``points.npz`` contents."""
    if n_points % 8:
        raise ValueError(f'n_points must be a multiple of 8 (packbits), got {n_points}')
    for _ in range(max_tries):
        sdf = random_shape_sdf(category, rng)
        mesh = sdf_to_mesh(sdf, mc_resolution)
        if len(mesh.faces) < 100 or mesh.volume < 1e-3:
            continue
        bmin, bmax = mesh.bounds
        loc = (bmin + bmax) / 2
        scale = float((bmax - bmin).max())
        mesh.apply_translation(-loc)
        mesh.apply_scale(1 / scale)
        surface, face_idx = trimesh.sample.sample_surface(mesh, n_points, seed=int(rng.integers(2**31)))
        normals = mesh.face_normals[face_idx]
        queries = rng.uniform(-0.55, 0.55, (n_points, 3))
        occ = sdf(queries * scale + loc) < 0
        if occ.mean() < 0.01:
            continue
        pointcloud = dict(points=surface.astype(np.float16), normals=normals.astype(np.float16),
                          loc=loc.astype(np.float32), scale=np.float32(scale))
        points = dict(points=queries.astype(np.float16), occupancies=np.packbits(occ),
                      loc=loc.astype(np.float32), scale=np.float32(scale))
        return mesh, pointcloud, points
    raise RuntimeError(f'could not generate a non-degenerate {category!r} shape in {max_tries} tries')


def make_demo(root: Path, seed: int = 0, small: bool = False) -> None:
    """Write the synthetic-shapes dataset in the ShapeNet layout under ``root``.

    Full: 7 categories x (24 train, 4 val, 4 test) shapes, 20,000 points per file.  ``small``: 3 categories
    x (3 train, 1 val, 1 test), 4,096 points.  The official ShapeNet files hold 100,000 points; fewer keep
    the demo light on disk and CPU (the loaders do not depend on the count).
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    cats = CATEGORIES[:3] if small else CATEGORIES
    counts = dict(train=3, val=1, test=1) if small else dict(train=24, val=4, test=4)
    n_points = 4096 if small else 20000
    metadata = {}
    for cat_id, name in cats:
        metadata[cat_id] = dict(id=cat_id, name=name)
        index = 0
        for split, count in counts.items():
            ids = []
            for _ in range(count):
                model_id = f'{name}_{index:04d}'
                index += 1
                mesh, pointcloud, points = make_shape(name, rng, n_points)
                model_dir = root / cat_id / model_id
                model_dir.mkdir(parents=True, exist_ok=True)
                np.savez(model_dir / 'pointcloud.npz', **pointcloud)
                np.savez(model_dir / 'points.npz', **points)
                mesh.export(model_dir / 'model.off')
                ids.append(model_id)
            (root / cat_id / f'{split}.lst').write_text('\n'.join(ids) + '\n')
    (root / 'metadata.yaml').write_text(yaml.safe_dump(metadata, sort_keys=True))


def _boundary_file(points: dict, radius: float = 0.08, k: int = 100) -> dict:
    """``points.npz`` contents plus the stage-2 ``contrastive`` flags (as the boundary-sampling tool)."""
    from visionx.datasets.reconstruction.boundary import boundary_mask
    pts = points['points'].astype(np.float32)
    occ = np.unpackbits(points['occupancies'])[:len(pts)].astype(bool)
    return dict(points, contrastive=boundary_mask(pts, occ, radius, k))


def write_shapenet_layout(root: Path, seed: int = 0, n_categories: int = 1,
                          counts: dict[str, int] | None = None, n_points: int = 1024, mc_resolution: int = 32,
                          boundary_dir: str = 'boundary0.08') -> None:
    """Write a tiny ShapeNet (Occupancy Networks) folder including GridFormer's stage-2 boundary files.

    Same layout as :func:`make_demo` plus ``<model>/<boundary_dir>/boundary_points.npz`` (``points.npz``
    keys and ``contrastive``), as ``tools/data/gridformer_boundary_sampling.py`` writes for the official data.

    Args:
        root: Output folder (plays ``data/ShapeNet``).
        seed: Random seed.
        n_categories: Number of demo categories (first of :data:`CATEGORIES`).
        counts: Shapes per split (default one each of train / val / test).
        n_points: Points per file (multiple of 8).
        mc_resolution: Marching-cubes resolution of the meshes.
        boundary_dir: Folder of the boundary files (``boundary{radius:g}``).
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    counts = counts or dict(train=1, val=1, test=1)
    radius = float(boundary_dir.removeprefix('boundary'))
    metadata = {}
    for cat_id, name in CATEGORIES[:n_categories]:
        metadata[cat_id] = dict(id=cat_id, name=name)
        index = 0
        for split, count in counts.items():
            ids = []
            for _ in range(count):
                model_id = f'{name}_{index:04d}'
                index += 1
                mesh, pointcloud, points = make_shape(name, rng, n_points, mc_resolution)
                model_dir = root / cat_id / model_id
                (model_dir / boundary_dir).mkdir(parents=True, exist_ok=True)
                np.savez(model_dir / 'pointcloud.npz', **pointcloud)
                np.savez(model_dir / 'points.npz', **points)
                np.savez(model_dir / boundary_dir / 'boundary_points.npz', **_boundary_file(points, radius))
                mesh.export(model_dir / 'model.off')
                ids.append(model_id)
            (root / cat_id / f'{split}.lst').write_text('\n'.join(ids) + '\n')
    (root / 'metadata.yaml').write_text(yaml.safe_dump(metadata, sort_keys=True))


ROOM_CLASSES = ('rooms_04', 'rooms_05', 'rooms_06', 'rooms_07', 'rooms_08')


def room_sdf(rng: np.random.Generator, n_objects: int) -> Sdf:
    """A toy room: a floor slab at ``y = -0.45`` with ``n_objects`` random primitives standing on it."""
    floor = _transformed(_box(np.array([0.5, 0.03, 0.5])), np.eye(3), np.array([0.0, -0.45, 0.0]))
    parts = [floor]
    for _ in range(n_objects):
        prim = _primitive(str(rng.choice(PRIMITIVES)), rng)
        offset = np.array([rng.uniform(-0.3, 0.3), -0.25, rng.uniform(-0.3, 0.3)])
        rot = _random_rotation(rng)
        parts.append(lambda p, f=prim, o=offset, r=rot: 0.5 * f(((p - o) @ r) / 0.5))
    return lambda p: np.min([f(p) for f in parts], axis=0)


def write_rooms_layout(root: Path, seed: int = 0, classes: tuple[str, ...] = ROOM_CLASSES,
                       counts: dict[str, int] | None = None, multi_files: int = 10, n_points: int = 1024,
                       mc_resolution: int = 32, boundary_dir: str = 'boundary0.08') -> None:
    """Write a tiny Synthetic Rooms folder in the official ConvONet layout (plus stage-2 boundary files).

    Layout (``root`` plays ``data/synthetic_room_dataset``)::

        <class>/{train,val,test}.lst
        <class>/<scene>/pointcloud/pointcloud_XX.npz                      points, normals (float16)
        <class>/<scene>/points_iou/points_iou_XX.npz                      points (float16), occupancies (packbits)
        <class>/<scene>/points_iou/<boundary_dir>/boundary_points_XX.npz  points_iou keys + contrastive

    for ``XX`` in ``00 .. multi_files - 1`` (independent re-samplings of the same scene).

    Args:
        root: Output folder.
        seed: Random seed.
        classes: Class folders (the official ``rooms_04`` .. ``rooms_08``).
        counts: Scenes per split (default one each of train / val / test).
        multi_files: Re-samplings per scene (official: 10).
        n_points: Points per file (multiple of 8).
        mc_resolution: Marching-cubes resolution of the surface mesh.
        boundary_dir: Folder of the boundary files under ``points_iou/``.
    """
    if n_points % 8:
        raise ValueError(f'n_points must be a multiple of 8 (packbits), got {n_points}')
    root = Path(root)
    rng = np.random.default_rng(seed)
    counts = counts or dict(train=1, val=1, test=1)
    radius = float(boundary_dir.removeprefix('boundary'))
    for cls in classes:
        index = 0
        for split, count in counts.items():
            ids = []
            for _ in range(count):
                scene = f'{cls}_scene_{index:04d}'
                index += 1
                sdf = room_sdf(rng, int(cls[-1]) % 3 + 1)
                mesh = sdf_to_mesh(sdf, mc_resolution, extent=0.6)
                scene_dir = root / cls / scene
                for sub in ('pointcloud', f'points_iou/{boundary_dir}'):
                    (scene_dir / sub).mkdir(parents=True, exist_ok=True)
                for i in range(multi_files):
                    surface, face_idx = trimesh.sample.sample_surface(mesh, n_points, seed=int(rng.integers(2**31)))
                    np.savez(scene_dir / 'pointcloud' / f'pointcloud_{i:02d}.npz',
                             points=surface.astype(np.float16),
                             normals=mesh.face_normals[face_idx].astype(np.float16))
                    queries = rng.uniform(-0.55, 0.55, (n_points, 3))
                    points = dict(points=queries.astype(np.float16), occupancies=np.packbits(sdf(queries) < 0))
                    np.savez(scene_dir / 'points_iou' / f'points_iou_{i:02d}.npz', **points)
                    np.savez(scene_dir / 'points_iou' / boundary_dir / f'boundary_points_{i:02d}.npz',
                             **_boundary_file(points, radius))
                ids.append(scene)
            (root / cls / f'{split}.lst').write_text('\n'.join(ids) + '\n')
