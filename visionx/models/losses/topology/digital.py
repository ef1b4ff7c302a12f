"""Digital topology on 2-D and 3-D binary masks: simple points, topology-preserving thinning and homotopic
warping.  Used by cbDice (Menten et al.'s skeletons) and the homotopy-warping loss; no gradient, CPU.

Connectivity follows the usual dual pairs: foreground 8-connected / background 4-connected in 2D, and
foreground 26-connected / background 6-connected in 3D.  A point is *simple* when flipping it changes no
Betti number.  Its test only looks at the punctured 3x3 (3x3x3) neighbourhood:

* 2D: the foreground 8-neighbours form exactly one 8-component and the background 4-neighbours lie in
  exactly one 4-component of the punctured neighbourhood (a 256-entry look-up table);
* 3D (Bertrand and Malandain, 1994): the foreground of the punctured 26-neighbourhood has exactly one
  26-component (``T26 = 1``) and the background of the punctured 18-neighbourhood has exactly one
  6-component that is 6-adjacent to the centre (``T6bar = 1``).  The 2^26 configurations are evaluated on
  demand (vectorised connected-component labelling inside the neighbourhood) and memoised.

Parallel flips use parity sub-fields (2^ndim of them): two distinct points of one sub-field differ by at
least 2 along some axis, so they are never neighbours and flipping all simple points of a sub-field at
once is as safe as flipping them one after the other.
"""
from __future__ import annotations

from functools import lru_cache
from itertools import product

import numpy as np
from scipy import ndimage

# 2-D: the 3x3 neighbourhood is encoded as 8 bits (clockwise from the top-left).
_NEIGHBOUR_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))
# 3-D: the 26 neighbours in lexicographic order of (dz, dy, dx), centre skipped.
_NEIGHBOUR_OFFSETS_3D = tuple(o for o in product((-1, 0, 1), repeat=3) if o != (0, 0, 0))


def offsets(ndim: int) -> tuple[tuple[int, ...], ...]:
    """Neighbour offsets whose order defines the bits of :func:`neighbourhood_codes`."""
    if ndim == 2:
        return _NEIGHBOUR_OFFSETS
    if ndim == 3:
        return _NEIGHBOUR_OFFSETS_3D
    raise ValueError(f'digital topology is defined here for 2-D and 3-D masks, got {ndim}-D')


@lru_cache(maxsize=1)
def simple_point_lut() -> np.ndarray:
    """Look-up table (256,) bool: is the centre of this 8-neighbourhood a simple point in 2D?

    With (8, 4) connectivity (foreground 8-connected, background 4-connected) a pixel is simple iff its
    foreground neighbours form exactly one 8-connected component and its background 4-neighbours lie in
    exactly one 4-connected background component of the punctured neighbourhood.
    """
    lut = np.zeros(256, bool)
    eight = np.ones((3, 3), int)
    four = ndimage.generate_binary_structure(2, 1)
    for code in range(256):
        nb = np.zeros((3, 3), bool)
        for bit, (dy, dx) in enumerate(_NEIGHBOUR_OFFSETS):
            nb[1 + dy, 1 + dx] = bool(code >> bit & 1)
        fg = nb.copy()
        fg[1, 1] = False
        n_fg = ndimage.label(fg, eight)[1]
        bg = ~nb
        bg[1, 1] = False
        lab, _ = ndimage.label(bg, four)
        # only background components that touch a 4-neighbour of the centre count
        touching = {lab[0, 1], lab[1, 0], lab[1, 2], lab[2, 1]} - {0}
        lut[code] = n_fg == 1 and len(touching) == 1
    return lut


def neighbourhood_codes(padded: np.ndarray, coords: tuple[np.ndarray, ...]) -> np.ndarray:
    """Neighbourhood bit codes (N,) int64 of the points ``coords`` of a mask padded by one 0 on every side.

    Args:
        padded: (H + 2, W + 2) or (D + 2, H + 2, W + 2) bool array.
        coords: index arrays into the *unpadded* mask.
    """
    code = np.zeros(len(coords[0]), np.int64)
    for bit, off in enumerate(offsets(padded.ndim)):
        idx = tuple(c + 1 + o for c, o in zip(coords, off))
        code |= padded[idx].astype(np.int64) << bit
    return code


# -- 3-D simple points ------------------------------------------------------------------------------

_CENTRE = 13  # index of (0, 0, 0) among the 27 positions of the 3x3x3 cube in lexicographic order


@lru_cache(maxsize=1)
def _cube_geometry() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Adjacency of the 27 cube positions and the bit -> position map."""
    pos = np.array(list(product((-1, 0, 1), repeat=3)))
    diff = np.abs(pos[:, None] - pos[None])
    adj26 = (diff.max(-1) == 1)
    adj6 = (diff.sum(-1) == 1)
    manhattan = np.abs(pos).sum(-1)
    n18 = (manhattan >= 1) & (manhattan <= 2)
    faces = np.flatnonzero(manhattan == 1)
    bit_pos = np.array([i for i in range(27) if i != _CENTRE])
    return adj26, adj6, n18, faces, bit_pos


def _component_labels(member: np.ndarray, adj: np.ndarray) -> np.ndarray:
    """Smallest member index of each member's component (99 for non-members); (M, 27) int8."""
    none = np.int8(99)
    lab = np.where(member, np.arange(27, dtype=np.int8)[None], none)
    allowed = adj[None] & member[:, None, :]  # (M, 27, 27): i may take j's label
    while True:
        nb = np.where(allowed, lab[:, None, :], none).min(2)
        new = np.where(member, np.minimum(lab, nb), none)
        if np.array_equal(new, lab):
            return lab
        lab = new


def _evaluate_simple_3d(codes: np.ndarray, chunk: int = 20000) -> np.ndarray:
    """Simple-point test (26, 6) of 26-bit neighbourhood codes, without the cache."""
    adj26, adj6, n18, faces, bit_pos = _cube_geometry()
    out = np.zeros(len(codes), bool)
    for s in range(0, len(codes), chunk):
        c = codes[s:s + chunk]
        occ = np.zeros((len(c), 27), bool)
        occ[:, bit_pos] = ((c[:, None] >> np.arange(26)) & 1).astype(bool)
        lab = _component_labels(occ, adj26)
        t26 = (lab == np.arange(27)[None]).sum(1)
        bg = ~occ & n18[None]
        lab_bg = _component_labels(bg, adj6)
        touching = np.sort(np.where(bg[:, faces], lab_bg[:, faces], 99), axis=1)
        distinct = (touching[:, 0] != 99).astype(int) + (
            (touching[:, 1:] != touching[:, :-1]) & (touching[:, 1:] != 99)).sum(1)
        out[s:s + chunk] = (t26 == 1) & (distinct == 1)
    return out


_SIMPLE_3D_CACHE: dict[int, bool] = {}


def simple_3d(codes: np.ndarray) -> np.ndarray:
    """Whether each 26-bit neighbourhood code (bits in :data:`_NEIGHBOUR_OFFSETS_3D` order) is simple."""
    codes = np.asarray(codes, np.int64)
    if codes.size == 0:
        return np.zeros(codes.shape, bool)
    uniq, inverse = np.unique(codes, return_inverse=True)
    cache = _SIMPLE_3D_CACHE
    known = np.fromiter((cache.get(int(u), -1) for u in uniq), np.int8, len(uniq))
    missing = known < 0
    if missing.any():
        fresh = _evaluate_simple_3d(uniq[missing])
        known[missing] = fresh
        if len(cache) < 5_000_000:  # bound the memo (about 0.5 GB at most)
            cache.update(zip(uniq[missing].tolist(), fresh.tolist()))
    return known.astype(bool)[inverse.reshape(codes.shape)]


def is_simple(codes: np.ndarray, ndim: int) -> np.ndarray:
    """Simple-point test of neighbourhood codes from :func:`neighbourhood_codes` (2-D or 3-D)."""
    if ndim == 2:
        return simple_point_lut()[codes]
    if ndim == 3:
        return simple_3d(codes)
    raise ValueError(f'digital topology is defined here for 2-D and 3-D masks, got {ndim}-D')


def subfields(ndim: int) -> list[tuple[int, ...]]:
    """Parity offsets of the 2^ndim sub-fields (no two points of one sub-field are neighbours)."""
    return list(product((0, 1), repeat=ndim))


def _in_subfield(coords: tuple[np.ndarray, ...], parity: tuple[int, ...]) -> np.ndarray:
    keep = np.ones(len(coords[0]), bool)
    for c, p in zip(coords, parity):
        keep &= (c & 1) == p
    return keep


def _popcount(codes: np.ndarray) -> np.ndarray:
    return np.unpackbits(codes.astype('<u8').view(np.uint8).reshape(-1, 8), axis=1).sum(1)


# -- thinning and warping --------------------------------------------------------------------------


def thinning_order(ndim: int) -> list[tuple[int, ...]]:
    """Sub-field parities in the order Menten et al.'s ``Skeletonize`` visits them.

    Their code pads the volume by one voxel (a 2-D image becomes one slice of a padded 3-D volume) and
    steps the offsets (depth fastest) over the *padded* grid, so in the original coordinates the parities
    are flipped: 2D (row, col) = (1, 1), (0, 1), (1, 0), (0, 0); 3D (d, h, w) = (1, 1, 1), (0, 1, 1),
    (1, 0, 1), (0, 0, 1), (1, 1, 0), (0, 1, 0), (1, 0, 0), (0, 0, 0).
    """
    padded = [(x, y, z) for z in (0, 1) for y in (0, 1) for x in (0, 1)]   # x (depth) fastest
    if ndim == 3:
        return [tuple(1 - p for p in o) for o in padded]
    return [(1 - y, 1 - z) for x, y, z in padded if x == 1]


def topological_skeleton(mask: np.ndarray, iterations: int = 5) -> np.ndarray:
    """Topology-preserving thinning of a 2-D or 3-D binary mask (Menten et al., ICCV 2023), no gradient.

    As in Menten et al.'s ``Skeletonize`` (used by cbDice): each iteration first marks the end points
    (foreground points with at most one foreground neighbour), then visits the parity sub-fields (4 in 2D,
    8 in 3D, in the order of :func:`thinning_order`) and deletes, in parallel, every foreground point of
    the sub-field that is simple in the current mask and was not an end point at the start of the
    iteration.  Simple points use 8/4 connectivity in 2D and 26/6 in 3D; the 2-D test equals theirs,
    which runs the 3-D test on the image as one slice of a zero-padded volume.

    Args:
        mask: (H, W) or (D, H, W) binary array.
        iterations: thinning iterations (cbDice: 5).

    Returns:
        bool skeleton of the same shape.
    """
    full = np.asarray(mask) > 0
    if full.ndim not in (2, 3):
        raise ValueError(f'topological_skeleton supports 2-D and 3-D masks, got shape {full.shape}')
    padded = np.pad(full, 1)
    inner = padded[(slice(1, -1),) * full.ndim]
    for _ in range(iterations):
        coords = np.nonzero(inner)
        if not len(coords[0]):
            break
        endpoint = np.zeros(full.shape, bool)
        endpoint[coords] = _popcount(neighbourhood_codes(padded, coords)) <= 1
        changed = False
        for parity in thinning_order(full.ndim):
            coords = np.nonzero(inner)
            sel = _in_subfield(coords, parity)
            coords = tuple(c[sel] for c in coords)
            if not len(coords[0]):
                continue
            delete = is_simple(neighbourhood_codes(padded, coords), full.ndim) & ~endpoint[coords]
            if delete.any():
                inner[tuple(c[delete] for c in coords)] = False
                changed = True
        if not changed:
            break
    return inner.copy()


def homotopic_warp(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Warp a 2-D or 3-D binary mask toward ``target`` by flipping only simple points.

    The official code visits mismatched pixels one by one in distance-transform order.  Here the
    mismatched points are flipped in rounds over the parity sub-fields (as safe as sequential flips, see
    the module docstring); each round peels the mismatch from its boundary inward, which is the distance
    order up to ties.  The result differs from ``target`` only where a flip would change topology.

    Args:
        source: (H, W) or (D, H, W) bool mask to deform.
        target: bool mask of the same shape to deform toward.

    Returns:
        bool warped mask, homotopy-equivalent to ``source``.
    """
    source, target = np.asarray(source, bool), np.asarray(target, bool)
    if source.shape != target.shape or source.ndim not in (2, 3):
        raise ValueError(f'homotopic_warp needs two 2-D or 3-D masks of one shape, got {source.shape}, '
                         f'{target.shape}')
    padded = np.pad(source, 1)
    cur = padded[(slice(1, -1),) * source.ndim]
    while True:
        diff = np.nonzero(cur != target)
        if not len(diff[0]):
            return cur.copy()
        changed = False
        for parity in subfields(source.ndim):
            coords = np.nonzero(cur != target)
            sel = _in_subfield(coords, parity)
            coords = tuple(c[sel] for c in coords)
            if not len(coords[0]):
                continue
            flip = is_simple(neighbourhood_codes(padded, coords), source.ndim)
            if flip.any():
                idx = tuple(c[flip] for c in coords)
                cur[idx] = ~cur[idx]
                changed = True
        if not changed:
            return cur.copy()
