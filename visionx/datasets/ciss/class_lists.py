"""Per-image class lists (the official ``train_cls.txt`` format), computed once from the masks and cached.

Format (SSUL/BARM ``datasets/data/{voc,ade}/*_cls.txt``): one line per image, ``name c1 c2 ...`` where the
``c`` are the image's foreground label ids minus one (0-based), ascending; background (0) and ignore (255)
are not listed.  An image without foreground is a line with only its name.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from visionx.utils import atomic_write_text
from visionx.utils.errors import DataFormatError

IGNORE_INDEX = 255


def mask_classes(mask_path: str | os.PathLike, num_classes: int, reduce_zero_label: bool = False) -> set[int]:
    """Label ids present in a mask (255 excluded), checked against ``num_classes``.

    Args:
        mask_path: single-channel PNG (palette or grey).
        num_classes: ids ``0..num_classes-1`` are valid (plus 255).
        reduce_zero_label: apply mmseg's reduction first (0 -> 255, id -> id - 1).

    Raises:
        DataFormatError: the mask holds an id >= ``num_classes`` other than 255, or is not single-channel.
    """
    mask = np.asarray(Image.open(mask_path))
    if mask.ndim != 2:
        raise DataFormatError(f'{mask_path}: a label mask must be single-channel (palette or grey), got shape '
                              f'{mask.shape}')
    ids = np.unique(mask)
    if reduce_zero_label:
        ids = np.where(ids == 0, IGNORE_INDEX, ids.astype(np.int64) - 1)
        ids[ids == IGNORE_INDEX - 1] = IGNORE_INDEX
    bad = [int(i) for i in ids if i >= num_classes and i != IGNORE_INDEX]
    if bad:
        raise DataFormatError(f'{mask_path}: label ids {bad} are outside the dataset (valid: 0..{num_classes - 1} '
                              f'and {IGNORE_INDEX} for ignore)')
    return {int(i) for i in ids if i != IGNORE_INDEX}


def format_line(name: str, classes: set[int]) -> str:
    return ' '.join([name, *(str(c - 1) for c in sorted(classes) if c != 0)])


def read_class_lists(path: str | os.PathLike) -> dict[str, set[int]]:
    """Read a ``*_cls.txt`` file into ``name -> {label ids}`` (foreground ids, +1 applied)."""
    lists: dict[str, set[int]] = {}
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            lists[parts[0]] = {int(c) + 1 for c in parts[1:]}
        except ValueError:
            raise DataFormatError(f'{path}, line {n}: expected "name c1 c2 ..." with integer class ids, got '
                                  f'{line!r}') from None
    return lists


def load_or_build_class_lists(names: Sequence[str], mask_paths: Sequence[str], cache_file: str | os.PathLike,
                              num_classes: int, reduce_zero_label: bool = False) -> list[set[int]]:
    """The foreground label ids of every image, from ``cache_file`` or computed from the masks.

    Images missing from the cache are read from their masks (each checked against ``num_classes``) and the
    cache is rewritten atomically with all the images it then knows, so it is computed once per split.

    Args:
        names: image names (the first column of the file).
        mask_paths: their masks, same order.
        cache_file: the ``*_cls.txt`` file.
        num_classes: label ids ``0..num_classes-1`` are valid.
        reduce_zero_label: as in mmseg (the mask's 0 is ignored, ids shift by one).

    Returns:
        Per image, the set of its foreground label ids (background 0 and 255 excluded).
    """
    cache_file = Path(cache_file)
    known = read_class_lists(cache_file) if cache_file.is_file() else {}
    missing = [i for i, name in enumerate(names) if name not in known]
    if missing:
        for i in missing:
            known[names[i]] = mask_classes(mask_paths[i], num_classes, reduce_zero_label) - {0}
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache_file, ''.join(format_line(n, c) + '\n' for n, c in known.items()))
    for name in names:
        bad = [c for c in known[name] if c >= num_classes]
        if bad:
            raise DataFormatError(f'{cache_file}: image {name} lists class ids {[c - 1 for c in bad]} (0-based), '
                                  f'outside the dataset\'s {num_classes - 1} foreground classes')
    return [known[name] for name in names]
