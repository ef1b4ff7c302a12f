"""Synthetic brick walls with mortar labels in the official TopoMortar layout (demo and tests).

Walls are running-bond red bricks with textured grey mortar.  Labels: ``accurate`` (exact mortar mask),
``noisy`` (mortar centre lines redrawn with a fixed-size pen, jittered and with gaps, as quick annotations),
``pseudo`` (an automatic colour-threshold segmentation of the image).  Test groups: ``indistr`` plus the
out-of-distribution ``angles`` (rotated walls), ``colors`` (recoloured bricks) and ``occlusion`` (opaque
objects; the label stays amodal, i.e. mortar behind occluders is kept, as in TopoMortar).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import yaml

TEST_GROUPS = ('indistr', 'angles', 'colors', 'occlusion')


def render_wall(rng: np.random.Generator, size: int, angle: float = 0.0, brick_bgr=(40, 60, 170)
                ) -> tuple[np.ndarray, np.ndarray]:
    """Render one wall.

    Args:
        rng: random generator.
        size: output side in pixels.
        angle: rotation of the wall in degrees (the wall is drawn larger and centre-cropped, so no
            empty corners appear).
        brick_bgr: mean brick colour (BGR).

    Returns:
        ``image`` (size, size, 3) uint8 BGR and ``mortar`` (size, size) bool.
    """
    big = int(np.ceil(size * 1.5)) if angle else size
    brick_h = int(rng.integers(12, 17))
    brick_w = int(rng.integers(int(2.2 * brick_h), int(3.2 * brick_h)))
    joint = int(rng.integers(2, 4))
    mortar = np.ones((big, big), bool)
    img = np.empty((big, big, 3), np.float32)
    img[:] = np.array([150, 160, 165], np.float32) + rng.normal(0, 6, (big, big, 3))
    y0 = -int(rng.integers(0, brick_h))
    row = 0
    while y0 < big:
        x0 = -int(rng.integers(0, brick_w)) - (brick_w // 2 if row % 2 else 0)
        while x0 < big:
            ya, yb = max(y0 + joint, 0), min(y0 + brick_h, big)
            xa, xb = max(x0 + joint, 0), min(x0 + brick_w, big)
            if yb > ya and xb > xa:
                mortar[ya:yb, xa:xb] = False
                colour = np.asarray(brick_bgr, np.float32) + rng.normal(0, 12, 3)
                img[ya:yb, xa:xb] = colour + rng.normal(0, 8, (yb - ya, xb - xa, 3))
            x0 += brick_w
        y0 += brick_h
        row += 1
    img = cv2.GaussianBlur(img, (3, 3), 0.7)
    if angle:
        centre = (big / 2, big / 2)
        rot = cv2.getRotationMatrix2D(centre, angle, 1.0)
        img = cv2.warpAffine(img, rot, (big, big), flags=cv2.INTER_LINEAR)
        mortar = cv2.warpAffine(mortar.astype(np.uint8), rot, (big, big), flags=cv2.INTER_NEAREST) > 0
        o = (big - size) // 2
        img, mortar = img[o:o + size, o:o + size], mortar[o:o + size, o:o + size]
    return np.clip(img, 0, 255).astype(np.uint8), mortar


def noisy_label(rng: np.random.Generator, mortar: np.ndarray) -> np.ndarray:
    """Quick annotation: the mortar skeleton redrawn with a 3-px pen, jittered, with a few gaps."""
    from skimage.morphology import skeletonize
    skel = skeletonize(mortar).astype(np.uint8)
    shift = rng.integers(-1, 2, 2)
    skel = np.roll(skel, tuple(int(s) for s in shift), axis=(0, 1))
    h, w = skel.shape
    for _ in range(max(1, h * w // 8000)):
        y, x = rng.integers(0, h), rng.integers(0, w)
        skel[max(y - 3, 0):y + 3, max(x - 3, 0):x + 3] = 0
    return cv2.dilate(skel, np.ones((3, 3), np.uint8)) > 0


def pseudo_label(image: np.ndarray) -> np.ndarray:
    """Automatic label: pixels less red than the image's median redness, lightly opened."""
    img = image.astype(np.float32)
    redness = img[..., 2] - img[..., :2].mean(-1)
    mask = (redness < np.median(redness) - 10).astype(np.uint8)
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) > 0


def _occlude(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    out = image.copy()
    h, w = image.shape[:2]
    for _ in range(int(rng.integers(2, 4))):
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        radius = int(rng.integers(h // 10, h // 5))
        if rng.random() < 0.5:
            cv2.circle(out, centre, radius, colour, -1)
        else:
            cv2.rectangle(out, (centre[0] - radius, centre[1] - radius // 2),
                          (centre[0] + radius, centre[1] + radius // 2), colour, -1)
    return out


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), array):
        raise OSError(f'could not write {path}')


def make_demo(root: Path, seed: int = 0, small: bool = False) -> None:
    """Write a synthetic TopoMortar dataset under ``root`` in the official layout.

    Args:
        root: output folder (gets ``train/ val/ test/ splits.yaml splits_small.yaml dataset_types.txt
            betti_numbers.csv``).
        seed: random seed.
        small: 4 train / 2 val / 1 test image per group at 128 px (tests) instead of
            16 / 4 / 4 per group at 160 px.
    """
    from visionx.utils.topology import betti_numbers
    root = Path(root)
    rng = np.random.default_rng(seed)
    size = 128 if small else 160
    n_train, n_val, n_test = (4, 2, 1) if small else (16, 4, 4)
    counter = 0
    splits: dict[str, list[str]] = {'train': [], 'val': [], 'test': []}
    types, betti_rows = [], []

    def next_name() -> str:
        nonlocal counter
        counter += 1
        return f'{counter:03d}.png'

    for split, n in (('train', n_train), ('val', n_val)):
        for _ in range(n):
            name = next_name()
            image, mortar = render_wall(rng, size)
            _write(root / split / 'images' / name, image)
            _write(root / split / 'accurate' / name, mortar.astype(np.uint8) * 255)
            _write(root / split / 'noisy' / name, noisy_label(rng, mortar).astype(np.uint8) * 255)
            _write(root / split / 'pseudo' / name, pseudo_label(image).astype(np.uint8) * 255)
            splits[split].append(f'dataset/{split}/images/{name}')
    for group in TEST_GROUPS:
        for _ in range(n_test):
            name = next_name()
            if group == 'angles':
                image, mortar = render_wall(rng, size, angle=float(rng.uniform(15, 75)))
            elif group == 'colors':
                image, mortar = render_wall(rng, size, brick_bgr=tuple(int(c) for c in rng.integers(40, 220, 3)))
            else:
                image, mortar = render_wall(rng, size)
                if group == 'occlusion':
                    image = _occlude(rng, image)
            _write(root / 'test' / 'images' / name, image)
            _write(root / 'test' / 'accurate' / name, mortar.astype(np.uint8) * 255)
            splits['test'].append(f'dataset/test/images/{name}')
            types.append(f'{int(name[:3])},{group}')
            b0, b1 = betti_numbers(mortar)
            betti_rows.append(f'{int(name[:3])},{b0},{b1},0')
    n_small = max(2, len(splits['train']) // 5)
    (root / 'splits.yaml').write_text(yaml.safe_dump({1: splits}))
    small_splits = dict(splits, train=splits['train'][:n_small])
    (root / 'splits_small.yaml').write_text(yaml.safe_dump({1: small_splits}))
    (root / 'dataset_types.txt').write_text('ID,group\n' + '\n'.join(types) + '\n')
    (root / 'betti_numbers.csv').write_text('ID,Betti0,Betti1,Betti2\n' + '\n'.join(betti_rows) + '\n')
