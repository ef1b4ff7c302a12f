"""Image lists, per-class eligibility and seeded episode sampling of RePRI (official
``src/dataset/utils.py: make_dataset`` and ``dataset.py: EpisodicData``).

Episode sampling reproduces the official *single-process* stream (``workers: 0``; with loader workers
the official draws depend on PyTorch's per-worker seeding):

- ``numpy.random`` and ``random`` are seeded once with ``seed`` (official ``manual_seed + rank``);
- query images are the listed images with at least one eligible class, taken **in list order**,
  cycling; the stream continues across runs (run ``r`` holds episodes ``r·N .. (r+1)·N − 1``);
- the class is ``np.random.choice`` among the fold's classes *present* in the query (any pixel count);
- each support index is drawn with ``random.randint(1, n) − 1`` among the images eligible for the class,
  redrawn while it is the query or already drawn; the official loop always discards its first draw
  (its ``while`` starts with the query's own path), which is reproduced.
"""
from __future__ import annotations

import os.path as osp
import random
from dataclasses import dataclass

import cv2
import numpy as np

from visionx.utils.errors import ConfigError, DataFormatError, UserFileNotFoundError

MIN_PIXELS = 2 * 32 * 32


@dataclass(frozen=True)
class Episode:
    """One few-shot task: indices into the scanned image list.

    Attributes:
        query: index of the query image.
        class_id: the target class (label value).
        supports: indices of the K support images.
        run: run index.
    """
    query: int
    class_id: int
    supports: tuple[int, ...]
    run: int


def read_list(list_file: str, data_root: str) -> list[tuple[str, str]]:
    """Read an official list (``<image> <label>`` per line, paths relative to ``data_root``).

    Raises:
        UserFileNotFoundError: the list file does not exist.
        DataFormatError: a non-empty line does not hold two paths.
    """
    if not osp.isfile(list_file):
        raise UserFileNotFoundError(f'image list {list_file!r} does not exist (expected the official list: '
                                    "one '<image path> <label path>' line per image, relative to the data root)")
    items = []
    with open(list_file) as f:
        for n, line in enumerate(f, 1):
            parts = line.strip().split(' ')
            if parts == ['']:
                continue
            if len(parts) != 2:
                raise DataFormatError(f'{list_file}:{n}: expected "<image path> <label path>", got {line.strip()!r}')
            items.append((osp.join(data_root, parts[0]), osp.join(data_root, parts[1])))
    if not items:
        raise DataFormatError(f'image list {list_file!r} is empty')
    return items


def read_label(path: str) -> np.ndarray:
    """Read a label PNG as the official code does (``cv2.IMREAD_GRAYSCALE``)."""
    if not osp.isfile(path):
        raise UserFileNotFoundError(f'label file {path!r} does not exist')
    label = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if label is None:
        raise DataFormatError(f'label file {path!r} is not a readable image')
    return label


@dataclass
class ScannedList:
    """Result of :func:`scan_labels`.

    Attributes:
        items: ``(image, label)`` paths of the images with at least one eligible class.
        present: per item, the classes of ``class_list`` present in its label (any pixel count), sorted.
        class_files: per class, indices into ``items`` of the images where it is eligible.
    """
    items: list[tuple[str, str]]
    present: list[list[int]]
    class_files: dict[int, list[int]]


def scan_labels(items: list[tuple[str, str]], class_list: list[int], num_classes: int,
                min_pixels: int = MIN_PIXELS) -> ScannedList:
    """Keep the images with a class of ``class_list`` covering ≥ ``min_pixels`` pixels; index them per class.

    Args:
        items: ``(image, label)`` paths in list order.
        class_list: classes of interest.
        num_classes: largest valid class id (20 PASCAL, 80 COCO); other values than 0, 255 and
            ``1..num_classes`` are a format error.
        min_pixels: eligibility threshold (official ``2 * 32 * 32``).
    """
    wanted = set(class_list)
    kept, present, class_files = [], [], {c: [] for c in class_list}
    for image, label_path in items:
        label = read_label(label_path)
        values = np.unique(label)
        classes = [int(v) for v in values if v not in (0, 255)]
        bad = [c for c in classes if c > num_classes]
        if bad:
            raise DataFormatError(f'label {label_path!r} holds values {bad}; expected 0 (background), '
                                  f'1..{num_classes} (classes) and 255 (ignored)')
        in_list = [c for c in classes if c in wanted]
        if not in_list:
            continue
        eligible = [c for c in in_list if int((label == c).sum()) >= min_pixels]
        if not eligible:
            continue
        for c in eligible:
            class_files[c].append(len(kept))
        kept.append((image, label_path))
        present.append(sorted(in_list))
    return ScannedList(kept, present, class_files)


def check_enough_supports(scanned: ScannedList, shot: int, where: str) -> None:
    """Every class that can be drawn needs ``shot + 1`` eligible images (K supports besides the query).

    Raises:
        ConfigError: naming the class, its eligible-image count and the list.
    """
    drawable = sorted({c for classes in scanned.present for c in classes})
    for c in drawable:
        n = len(scanned.class_files.get(c, []))
        if n < shot + 1:
            raise ConfigError(f'{where}: class {c} has {n} image(s) with >= {MIN_PIXELS} pixels of it, '
                              f'fewer than shot + 1 = {shot + 1} needed for {shot}-shot episodes')


def sample_episodes(scanned: ScannedList, shot: int, episodes_per_run: int, n_runs: int,
                    seed: int) -> list[Episode]:
    """Draw ``n_runs × episodes_per_run`` episodes exactly as the official single-process loader.

    Args:
        scanned: the scanned test list.
        shot: supports per episode.
        episodes_per_run: official ``test_num``.
        n_runs: official ``n_runs``.
        seed: official ``manual_seed`` (+ rank).

    Returns:
        The episodes in order; run ``r`` = ``[r·N, (r+1)·N)``.
    """
    if not scanned.items:
        raise ConfigError('no query image: no listed image has a test class with enough pixels')
    np_rng = np.random.RandomState(seed)
    py_rng = random.Random(seed)
    episodes = []
    for e in range(episodes_per_run * n_runs):
        q = e % len(scanned.items)
        class_id = int(np_rng.choice(scanned.present[q]))
        files = scanned.class_files[class_id]
        chosen: list[int] = []
        for _ in range(shot):
            support = py_rng.randint(1, len(files)) - 1  # discarded: the official loop redraws
            path_is_query = True
            while path_is_query or support in chosen:
                support = py_rng.randint(1, len(files)) - 1
                path_is_query = scanned.items[files[support]] == scanned.items[q]  # paths, as official
            chosen.append(support)
        episodes.append(Episode(q, class_id, tuple(files[i] for i in chosen), e // episodes_per_run))
    return episodes
