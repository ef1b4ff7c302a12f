"""Synthetic data in the Pascal VOC (``SegmentationClassAug``) and ADE20K layouts for the CISS tests and demo.

Every image holds one to three objects (ellipses and rectangles) of different classes on a textured
background; each class has its own colour, so a small network can learn it, and images mix classes of
different steps, so the background shift of class-incremental training really happens.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from visionx.utils import atomic_path, atomic_write_text


#: Saturated colours of the demo classes (VOC ids 1..7), far from the grey background; other ids get a
#: seeded random colour.
PALETTE = {1: (220, 40, 40), 2: (40, 200, 60), 3: (40, 60, 220), 4: (230, 210, 40), 5: (200, 40, 200),
           6: (40, 200, 210), 7: (240, 130, 30)}


def _class_colour(c: int) -> np.ndarray:
    if c in PALETTE:
        return np.asarray(PALETTE[c], np.float32)
    rng = np.random.default_rng(1000 + c)
    return rng.integers(30, 226, size=3).astype(np.float32)


def _sample(rng: np.random.Generator, size: int, classes: list[int], max_objects: int) -> tuple[np.ndarray, np.ndarray]:
    """One image (size, size, 3) uint8 and its mask (size, size) uint8."""
    img = np.full((size, size, 3), 120.0, np.float32) + rng.normal(0, 20, (size, size, 3))
    mask = np.zeros((size, size), np.uint8)
    n = int(rng.integers(1, max_objects + 1))
    yy, xx = np.mgrid[:size, :size]
    for c in rng.choice(classes, size=min(n, len(classes)), replace=False):
        h, w = rng.integers(size // 4, size // 2 + 1, size=2)
        y0, x0 = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
        if rng.random() < 0.5:
            region = (yy >= y0) & (yy < y0 + h) & (xx >= x0) & (xx < x0 + w)
        else:
            cy, cx = y0 + h / 2, x0 + w / 2
            region = ((yy - cy) / (h / 2)) ** 2 + ((xx - cx) / (w / 2)) ** 2 <= 1
        img[region] = _class_colour(int(c)) + rng.normal(0, 12, (int(region.sum()), 3))
        mask[region] = c
    return np.clip(img, 0, 255).astype(np.uint8), mask


def _write_png(path: Path, mask: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(mask, mode='L').save(tmp, format='PNG')


def _write_jpg(path: Path, img: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(img).save(tmp, format='JPEG', quality=95)


def write_voc_layout(root: str | Path, classes: list[int], n_train: int = 8, n_val: int = 4, size: int = 48,
                     max_objects: int = 3, seed: int = 0) -> Path:
    """Write ``root/{JPEGImages,SegmentationClassAug,ImageSets/Segmentation/{train_aug,val}.txt}``.

    Args:
        root: the ``VOC2012`` folder.
        classes: foreground label ids drawn in the masks (VOC ids 1..20).
        n_train, n_val: images per list.
        size: image side in pixels.
        max_objects: objects per image at most.
        seed: random seed.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    for sub in ('JPEGImages', 'SegmentationClassAug', 'ImageSets/Segmentation'):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for split, n in (('train_aug', n_train), ('val', n_val)):
        names = [f'{split}_{i:04d}' for i in range(n)]
        for name in names:
            img, mask = _sample(rng, size, classes, max_objects)
            _write_jpg(root / 'JPEGImages' / f'{name}.jpg', img)
            _write_png(root / 'SegmentationClassAug' / f'{name}.png', mask)
        atomic_write_text(root / 'ImageSets/Segmentation' / f'{split}.txt', ''.join(f'{n}\n' for n in names))
    return root


def write_ade_layout(root: str | Path, classes: list[int], n_train: int = 8, n_val: int = 4, size: int = 48,
                     max_objects: int = 3, seed: int = 0) -> Path:
    """Write ``root/{images,annotations}/{training,validation}/`` (ADEChallengeData2016 layout)."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    for split, n in (('training', n_train), ('validation', n_val)):
        (root / 'images' / split).mkdir(parents=True, exist_ok=True)
        (root / 'annotations' / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            name = f'ADE_{"train" if split == "training" else "val"}_{i:08d}'
            img, mask = _sample(rng, size, classes, max_objects)
            _write_jpg(root / 'images' / split / f'{name}.jpg', img)
            _write_png(root / 'annotations' / split / f'{name}.png', mask)
    return root


#: Foreground VOC ids drawn in the demo dataset (7 object classes).
DEMO_CLASSES = [1, 2, 3, 4, 5, 6, 7]


def make_demo(root: str | Path, seed: int = 0, small: bool = False) -> None:
    """The CISS demo dataset: VOC layout under ``root/VOC2012`` with 7 object classes (VOC ids 1..7)."""
    n_train, n_val = (12, 6) if small else (240, 60)
    write_voc_layout(Path(root) / 'VOC2012', DEMO_CLASSES, n_train=n_train, n_val=n_val, size=48 if small else 64,
                     seed=seed)
