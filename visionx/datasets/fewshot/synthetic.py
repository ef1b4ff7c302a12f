"""Synthetic few-shot data in the official PASCAL / COCO on-disk layouts.

- :func:`make_demo`: the CPU demo, PASCAL layout with 8 classes (a shape and a colour each: 4 folds of 2
  novel classes; the demo evaluates folds 0 and 1), 64×64 images with one or two objects on a noisy
  background.
- :func:`write_pascal_layout` / :func:`write_coco_layout`: tiny stand-ins of ``data/pascal`` and
  ``data/coco`` for the config tests (every class has ``n_per_class`` images where it covers ≥ 2048
  pixels).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SHAPES = ('disk', 'square', 'triangle', 'cross')
COLOURS = ((230, 60, 60), (60, 200, 60), (60, 90, 230), (230, 200, 40), (200, 60, 220), (40, 210, 220),
           (240, 140, 40), (150, 150, 150))


def _shape_mask(shape: str, size: int, cy: int, cx: int, r: int) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    if shape == 'disk':
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    if shape == 'square':
        return (abs(yy - cy) <= r * 0.85) & (abs(xx - cx) <= r * 0.85)
    if shape == 'triangle':
        return (yy - cy <= r) & (yy - cy >= -r) & (abs(xx - cx) <= (yy - cy + r) / 2)
    return ((abs(yy - cy) <= r / 3) & (abs(xx - cx) <= r)) | ((abs(xx - cx) <= r / 3) & (abs(yy - cy) <= r))


def _draw(rng: np.random.Generator, size: int, objects: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Image (BGR uint8) and label with ``objects`` = [(class_id, radius)], class c -> shape, colour."""
    img = rng.integers(0, 90, (size, size, 3)).astype(np.float32)
    img += np.linspace(0, 40, size)[None, :, None]
    label = np.zeros((size, size), np.uint8)
    for class_id, r in objects:
        cy, cx = rng.integers(r, size - r, 2)
        mask = _shape_mask(SHAPES[(class_id - 1) % 4], size, int(cy), int(cx), r)
        colour = np.array(COLOURS[(class_id - 1) % len(COLOURS)], np.float32)[::-1]
        img[mask] = colour + rng.normal(0, 12, (int(mask.sum()), 3))
        label[mask] = class_id
    edge = cv2.dilate(label, np.ones((3, 3), np.uint8)) != cv2.erode(label, np.ones((3, 3), np.uint8))
    label[edge & (rng.random((size, size)) < 0.5)] = 255  # VOC-like ignored boundary pixels
    return np.clip(img, 0, 255).astype(np.uint8), label


def _write(root: Path, img_dir: str, seg_dir: str, name: str, img: np.ndarray, label: np.ndarray) -> str:
    (root / img_dir).mkdir(parents=True, exist_ok=True)
    (root / seg_dir).mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(root / img_dir / f'{name}.jpg'), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    cv2.imwrite(str(root / seg_dir / f'{name}.png'), label)
    return f'{img_dir}/{name}.jpg {seg_dir}/{name}.png'


def _write_list(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('\n'.join(lines) + '\n')


def write_pascal_layout(root: str | Path, num_classes: int = 20, n_per_class: int = 6, size: int = 96,
                        seed: int = 0) -> None:
    """``JPEGImages``, ``SegmentationClassAug`` and ``lists/pascal/{train,val}.txt``; each image one object
    of ≥ 2048 pixels (the same images are listed in both lists)."""
    root, rng, lines = Path(root), np.random.default_rng(seed), []
    for c in range(1, num_classes + 1):
        for k in range(n_per_class):
            img, label = _draw(rng, size, [(c, 40)])
            lines.append(_write(root, 'JPEGImages', 'SegmentationClassAug', f'2007_{c:03d}{k:03d}', img, label))
    _write_list(root / 'lists/pascal/train.txt', lines)
    _write_list(root / 'lists/pascal/val.txt', lines)


def write_coco_layout(root: str | Path, n_per_class: int = 2, size: int = 96, seed: int = 0) -> None:
    """``train2014``/``val2014`` images, ``train``/``val`` masks (ids 1..80, as ``create_masks.py`` writes
    them) and ``lists/coco/{train,val}.txt``."""
    root, rng = Path(root), np.random.default_rng(seed)
    for split in ('train', 'val'):
        lines = []
        for c in range(1, 81):
            for k in range(n_per_class):
                img, label = _draw(rng, size, [(c, 40)])
                name = f'COCO_{split}2014_{c:06d}{k:06d}'
                lines.append(_write(root, f'{split}2014', split, name, img, label))
        _write_list(root / f'lists/coco/{split}.txt', lines)


def make_demo(root: Path, seed: int = 0, small: bool = False) -> None:
    """The few-shot demo in the PASCAL layout: 8 classes, ``train`` and ``val`` lists.

    Each image holds one object of ≥ 200 pixels (radius 12-17) and, half of the time, a second smaller
    object of another class; the demo configs use ``num_classes=8`` and ``min_pixels=200``.
    """
    root, rng = Path(root), np.random.default_rng(seed)
    n_train, n_val = (24, 6) if small else (60, 12)  # per class
    for split, n in (('train', n_train), ('val', n_val)):
        lines = []
        for c in range(1, 9):
            for k in range(n):
                objects = [(c, int(rng.integers(12, 18)))]
                if rng.random() < 0.5:
                    other = int(rng.choice([o for o in range(1, 9) if o != c]))
                    objects.append((other, int(rng.integers(7, 11))))
                img, label = _draw(rng, 64, objects)
                lines.append(_write(root, 'JPEGImages', 'SegmentationClassAug', f'{split}_{c}_{k:03d}', img,
                                    label))
        _write_list(root / f'lists/pascal/{split}.txt', lines)
