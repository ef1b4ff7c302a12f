"""Mesh extraction on an analytic occupancy field (sphere of radius 0.3)."""
import numpy as np
import pytest

from visionx.models.reconstruction.mesh_extraction import mise, sparse_marching_cubes

R = 0.3


def sphere_occupancy(points: np.ndarray) -> np.ndarray:
    d = np.linalg.norm(points, axis=1) - R
    return 1 / (1 + np.exp(d / 0.01))   # p = 0.5 exactly on the sphere


def surface_points(n=2000, seed=0):
    v = np.random.default_rng(seed).standard_normal((n, 3))
    return R * v / np.linalg.norm(v, axis=1, keepdims=True)


def test_sparse_marching_cubes_sphere():
    calls = []

    def fn(p):
        calls.append(len(p))
        return sphere_occupancy(p)

    verts, faces = sparse_marching_cubes(fn, surface_points(), resolution=48, refine_iters=0, batch_points=5000)
    r = np.linalg.norm(verts, axis=1)
    assert len(faces) > 500 and np.abs(r - R).max() < 0.02
    assert max(calls) <= 5000                     # chunked queries
    assert sum(calls) < 0.5 * 50 ** 3             # sparse: far fewer queries than the dense grid
    refined, _ = sparse_marching_cubes(sphere_occupancy, surface_points(), resolution=48, refine_iters=10)
    assert np.abs(np.linalg.norm(refined, axis=1) - R).mean() < np.abs(r - R).mean()


def test_mise_sphere():
    verts, faces = mise(sphere_occupancy, resolution0=16, upsampling_steps=2, threshold=0.5)
    assert len(faces) > 500
    assert np.abs(np.linalg.norm(verts, axis=1) - R).max() < 0.01


def test_empty_and_bad():
    verts, faces = sparse_marching_cubes(lambda p: np.zeros(len(p)), surface_points(), resolution=16)
    assert verts.shape == (0, 3) and faces.shape == (0, 3)
    assert mise(lambda p: np.zeros(len(p)), resolution0=8, upsampling_steps=1)[1].shape == (0, 3)
    with pytest.raises(ValueError, match='empty box'):
        sparse_marching_cubes(sphere_occupancy, np.ones((5, 3)))
    with pytest.raises(ValueError, match=r'\(N, 3\)'):
        sparse_marching_cubes(sphere_occupancy, np.zeros((0, 3)))
