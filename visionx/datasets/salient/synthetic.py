"""Synthetic salient-object data in the DUTS layout (for the demo and the tests).

Each image is a textured background (smooth colour field + stripes / checks / noise, muted colours) with
low-contrast small distractor shapes, and one or two large salient shapes (ellipse, polygon, star,
rounded box) with saturated, textured fill.  Shapes are rasterised at 4x and averaged down, so the masks
carry soft (anti-aliased) edge values like real DUTS masks.

Layout written under ``root``::

    DUTS-TR/DUTS-TR-Image/NAME.jpg   DUTS-TR/DUTS-TR-Mask/NAME.png   (0 = background, 255 = salient)
    DUTS-TE/DUTS-TE-Image/NAME.jpg   DUTS-TE/DUTS-TE-Mask/NAME.png
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

SUPERSAMPLE = 4


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    grey = rng.uniform(70, 180, size=(3, 3, 1))
    low = (grey + rng.uniform(-30, 30, size=(3, 3, 3))).astype(np.float32)  # muted colours
    img = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    kind = rng.integers(3)
    if kind == 0:
        ang, freq = rng.uniform(0, np.pi), rng.uniform(0.15, 0.6)
        tex = np.sin(freq * (xx * np.cos(ang) + yy * np.sin(ang)))
    elif kind == 1:
        cell = int(rng.integers(4, 12))
        tex = ((xx // cell + yy // cell) % 2) * 2.0 - 1.0
    else:
        tex = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 1.5) * 2.5
    img += rng.uniform(10, 25) * tex[..., None]
    return img


def _shape_mask(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """Anti-aliased mask (H, W) float32 in [0, 1] of one random shape."""
    s = SUPERSAMPLE
    canvas = np.zeros((h * s, w * s), np.uint8)
    cy, cx = rng.uniform(0.3, 0.7) * h * s, rng.uniform(0.3, 0.7) * w * s
    r = scale * min(h, w) * s
    kind = rng.integers(4)
    if kind == 0:
        axes = (int(r * rng.uniform(0.6, 1.0)), int(r * rng.uniform(0.4, 1.0)))
        cv2.ellipse(canvas, (int(cx), int(cy)), axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    else:
        n = int(rng.integers(3, 8)) if kind == 1 else int(rng.integers(5, 8)) * 2
        ang = np.sort(rng.uniform(0, 2 * np.pi, n)) if kind == 1 else np.linspace(0, 2 * np.pi, n, False)
        rad = r * (rng.uniform(0.6, 1.0, n) if kind == 1 else np.where(np.arange(n) % 2, 0.45, 1.0))
        if kind == 3:  # rounded box: a square-ish polygon, blurred corners come from dilation below
            ang = np.array([0.25, 0.75, 1.25, 1.75]) * np.pi + rng.uniform(0, np.pi / 2)
            rad = np.full(4, r)
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1).astype(np.int32)
        cv2.fillPoly(canvas, [pts], 255)
    mask = cv2.resize(canvas.astype(np.float32) / 255.0, (w, h), interpolation=cv2.INTER_AREA)
    return mask


def _fill(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    hue = rng.uniform(0, 360)  # float HSV in OpenCV: hue in degrees
    hsv = np.zeros((h, w, 3), np.float32)
    hsv[..., 0] = hue
    hsv[..., 1] = rng.uniform(0.7, 1.0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    hsv[..., 2] = np.clip(rng.uniform(0.55, 0.95) + 0.12 * np.sin(rng.uniform(0.2, 0.8) * (xx + yy)), 0, 1)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR) * 255.0


def make_sample(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic image (H, W, 3) uint8 BGR and its mask (H, W) uint8 0..255."""
    img = _background(rng, h, w)
    for _ in range(int(rng.integers(0, 3))):  # low-contrast distractors, not salient
        m = _shape_mask(rng, h, w, rng.uniform(0.06, 0.12))[..., None]
        img = img * (1 - m) + m * (img + rng.uniform(-25, 25, 3))
    mask = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, 3))):
        m = _shape_mask(rng, h, w, rng.uniform(0.18, 0.35))
        img = img * (1 - m[..., None]) + m[..., None] * _fill(rng, h, w)
        mask = np.maximum(mask, m)
    img = img + rng.normal(0, 3, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), np.clip(np.round(mask * 255), 0, 255).astype(np.uint8)


def write_split(root: Path, split: str, n: int, rng: np.random.Generator, size_range: tuple[int, int],
                desc: str | None = None) -> None:
    """Write ``n`` samples of DUTS split ``split`` ('TR' or 'TE') under ``root``."""
    img_dir = root / f'DUTS-{split}' / f'DUTS-{split}-Image'
    mask_dir = root / f'DUTS-{split}' / f'DUTS-{split}-Mask'
    img_dir.mkdir(parents=True, exist_ok=True)
    mask_dir.mkdir(parents=True, exist_ok=True)
    for i in tqdm(range(n), desc=desc or f'basnet demo DUTS-{split}', leave=False):
        h, w = (int(v) for v in rng.integers(size_range[0], size_range[1] + 1, 2))
        img, mask = make_sample(rng, h, w)
        name = f'synth_{split.lower()}_{i:05d}'
        cv2.imwrite(str(img_dir / f'{name}.jpg'), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        cv2.imwrite(str(mask_dir / f'{name}.png'), mask)


def make_demo(root: Path, seed: int = 0, small: bool = False) -> None:
    """Write the synthetic DUTS-style demo dataset under ``root``.

    Args:
        root: Output folder (``data/demo/basnet``).
        seed: Random seed (the same seed gives the same files).
        small: 8 train / 4 test images of 48-80 px (tests) instead of 320 / 64 of 96-160 px.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    n_tr, n_te, sizes = (8, 4, (48, 80)) if small else (320, 64, (96, 160))
    write_split(root, 'TR', n_tr, rng, sizes)
    write_split(root, 'TE', n_te, rng, sizes)


#: Official on-disk layouts of BASNet's training set (DUTS-TR augmented) and the six test sets, as
#: ``(image folder, mask folder, image suffix)`` relative to the parent of ``data/`` (masks are ``.png``).
BENCHMARK_LAYOUTS: dict[str, tuple[str, str, str]] = {
    'DUTS-TR': ('DUTS/DUTS-TR/im_aug', 'DUTS/DUTS-TR/gt_aug', '.jpg'),
    'DUTS-TE': ('DUTS-TE/DUTS-TE-Image', 'DUTS-TE/DUTS-TE-Mask', '.jpg'),
    'HKU-IS': ('HKU-IS/imgs', 'HKU-IS/gt', '.png'),
    'PASCAL-S': ('PASCAL-S/Imgs', 'PASCAL-S/GT', '.jpg'),
    'DUT-OMRON': ('DUT-OMRON/DUT-OMRON-image', 'DUT-OMRON/pixelwiseGT-new-PNG', '.jpg'),
    'ECSSD': ('ECSSD/images', 'ECSSD/ground_truth_mask', '.jpg'),
    'SOD': ('SOD/Imgs', 'SOD/GT', '.jpg'),
}


def write_benchmark_layouts(root: Path, n: int = 2, seed: int = 0, size_range: tuple[int, int] = (40, 64)
                            ) -> None:
    """Write ``n`` synthetic samples into each official layout of :data:`BENCHMARK_LAYOUTS` under ``root``.

    ``root`` plays the role of ``data/`` (``root/DUTS/DUTS-TR/im_aug/...``, ``root/HKU-IS/imgs/...``).
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    for name, (img_dir, mask_dir, img_suffix) in BENCHMARK_LAYOUTS.items():
        (root / img_dir).mkdir(parents=True, exist_ok=True)
        (root / mask_dir).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            h, w = (int(v) for v in rng.integers(size_range[0], size_range[1] + 1, 2))
            img, mask = make_sample(rng, h, w)
            stem = f'{name.lower()}_{i:04d}'
            params = [cv2.IMWRITE_JPEG_QUALITY, 92] if img_suffix == '.jpg' else []
            if not cv2.imwrite(str(root / img_dir / f'{stem}{img_suffix}'), img, params):
                raise OSError(f'could not write {root / img_dir / (stem + img_suffix)}')
            if not cv2.imwrite(str(root / mask_dir / f'{stem}.png'), mask):
                raise OSError(f'could not write {root / mask_dir / (stem + ".png")}')
