"""Synthetic semantic-segmentation scenes with thin structures, written in mmseg's dataset layouts.

- :func:`write_cityscapes_layout`, :func:`write_ade20k_layout`, :func:`write_pascal_context_layout`: tiny
  stand-ins for ``data/cityscapes``, ``data/ade/ADEChallengeData2016`` and ``data/VOCdevkit/VOC2010`` (the
  mmseg default roots), read by mmseg's ``CityscapesDataset`` / ``ADE20KDataset`` / ``PascalContextDataset59``
  in ``tests/test_configs.py``.  Not a substitute for the real data.
- :func:`make_demo`: the BPKD CPU demo (``data/demo/bpkd``), mmseg's plain ``img_dir`` / ``ann_dir`` layout
  read by ``BaseSegDataset``: blobs, bars and one-to-two-pixel lines of 4 foreground classes on a
  background, so that a good part of every class lies within a few pixels of a boundary.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

__all__ = ['paint_scene', 'write_cityscapes_layout', 'write_ade20k_layout', 'write_pascal_context_layout',
           'make_demo', 'DEMO_CLASSES']

#: Classes of the demo data (label = index).
DEMO_CLASSES = ('background', 'disc', 'bar', 'wire', 'ring')
#: Mean BGR colour of each demo class; images add noise and a per-image colour jitter.
_DEMO_COLOURS = np.array([[90, 90, 90], [40, 40, 200], [200, 60, 40], [40, 200, 40], [200, 200, 60]], float)


def paint_scene(rng: np.random.Generator, height: int, width: int, num_classes: int, n_shapes: int = 6,
                first_class: int = 0, thin: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """One (H, W, 3) uint8 BGR image and its (H, W) uint8 label map of random shapes.

    Labels ``first_class + 1 ... first_class + num_classes - 1`` are drawn as discs, bars, thin lines and
    rings over ``first_class`` (background); the image colour of a class is fixed (plus noise), so the labels
    are learnable from the image.

    Args:
        rng: random generator.
        height, width: image size.
        num_classes: number of labels used, background included.
        n_shapes: shapes per image.
        first_class: background label (0 for the demo and Cityscapes-like maps; 1 where 0 is 'ignore').
        thin: draw 1-2 px lines and rings (thin parts).
    """
    label = np.full((height, width), first_class, np.uint8)
    for _ in range(n_shapes):
        cls = int(rng.integers(1, num_classes))
        kind = (cls - 1) % 4 if thin else (cls - 1) % 2
        cy, cx = int(rng.integers(0, height)), int(rng.integers(0, width))
        s = max(3, int(min(height, width) * rng.uniform(0.08, 0.25)))
        value = first_class + cls
        if kind == 0:
            cv2.circle(label, (cx, cy), s, value, -1)
        elif kind == 1:
            angle = rng.uniform(0, 180)
            box = cv2.boxPoints(((cx, cy), (2.5 * s, 0.6 * s), angle)).astype(np.int32)
            cv2.fillPoly(label, [box], value)
        elif kind == 2:
            x2, y2 = int(rng.integers(0, width)), int(rng.integers(0, height))
            cv2.line(label, (cx, cy), (x2, y2), value, int(rng.integers(1, 3)))
        else:
            cv2.circle(label, (cx, cy), s, value, int(rng.integers(1, 3)))
    colours = np.resize(_DEMO_COLOURS, (first_class + num_classes, 3))
    jitter = rng.uniform(-25, 25, 3)
    image = colours[label] + jitter + rng.normal(0, 12, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8), label


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), array):
        raise OSError(f'could not write {path}')


def write_cityscapes_layout(root: str | Path, n: int = 2, size: tuple[int, int] = (64, 128), seed: int = 0) -> Path:
    """``leftImg8bit/{train,val}/<city>/*_leftImg8bit.png`` + ``gtFine/.../*_gtFine_labelTrainIds.png``
    (train ids 0-18, 255 ignore)."""
    root, rng = Path(root), np.random.default_rng(seed)
    for split, city in (('train', 'aachen'), ('val', 'frankfurt')):
        for i in range(n):
            img, lab = paint_scene(rng, *size, num_classes=19)
            lab[:2] = 255
            stem = f'{city}_{i:06d}_000019'
            _write(root / 'leftImg8bit' / split / city / f'{stem}_leftImg8bit.png', img)
            _write(root / 'gtFine' / split / city / f'{stem}_gtFine_labelTrainIds.png', lab)
    return root


def write_ade20k_layout(root: str | Path, n: int = 2, size: tuple[int, int] = (64, 80), seed: int = 0) -> Path:
    """``images/{training,validation}/ADE_*.jpg`` + ``annotations/.../ADE_*.png`` (0 = other, 1-150 classes)."""
    root, rng = Path(root), np.random.default_rng(seed)
    for split, tag in (('training', 'train'), ('validation', 'val')):
        for i in range(n):
            img, lab = paint_scene(rng, *size, num_classes=150, first_class=1)
            lab[:2] = 0
            _write(root / 'images' / split / f'ADE_{tag}_{i + 1:08d}.jpg', img)
            _write(root / 'annotations' / split / f'ADE_{tag}_{i + 1:08d}.png', lab)
    return root


def write_pascal_context_layout(root: str | Path, n: int = 2, size: tuple[int, int] = (60, 80),
                                seed: int = 0) -> Path:
    """``JPEGImages/*.jpg``, ``SegmentationClassContext/*.png`` (0 = background, 1-59 classes) and the
    ``ImageSets/SegmentationContext/{train,val}.txt`` split lists."""
    root, rng = Path(root), np.random.default_rng(seed)
    for split in ('train', 'val'):
        names = []
        for i in range(n):
            name = f'2008_{(0 if split == "train" else 5000) + i:06d}'
            img, lab = paint_scene(rng, *size, num_classes=59, first_class=1)
            lab[:2] = 0
            _write(root / 'JPEGImages' / f'{name}.jpg', img)
            _write(root / 'SegmentationClassContext' / f'{name}.png', lab)
            names.append(name)
        lists = root / 'ImageSets' / 'SegmentationContext'
        lists.mkdir(parents=True, exist_ok=True)
        (lists / f'{split}.txt').write_text('\n'.join(names) + '\n')
    return root


def make_demo(root: Path, seed: int = 0, small: bool = False) -> None:
    """BPKD demo: ``img_dir/{train,val}/*.png`` + ``ann_dir/{train,val}/*.png`` (labels 0-4, see
    :data:`DEMO_CLASSES`), 64×64 scenes with thin wires and rings; 96 / 32 images (``small``: 4 / 2)."""
    rng = np.random.default_rng(seed)
    n_train, n_val = (4, 2) if small else (96, 32)
    for split, n in (('train', n_train), ('val', n_val)):
        for i in range(n):
            img, lab = paint_scene(rng, 64, 64, num_classes=len(DEMO_CLASSES), n_shapes=7)
            _write(Path(root) / 'img_dir' / split / f'{i:04d}.png', img)
            _write(Path(root) / 'ann_dir' / split / f'{i:04d}.png', lab)
