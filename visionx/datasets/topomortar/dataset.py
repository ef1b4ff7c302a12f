"""The TopoMortar dataset (Valverde et al., BMVC 2025, arXiv 2503.03365) in its official layout.

::

    data_root/
      train/{images,accurate,noisy,pseudo}/001.png ...
      val/{images,accurate,noisy,pseudo}/...
      test/{images,accurate}/...
      splits.yaml          {1: {train: [paths], val: [paths], test: [paths]}}
      splits_small.yaml    same, with the small training set
      dataset_types.txt    CSV "ID,group" (indistr, angles, colors, graffiti, objects, shadows, occlusion)

Split entries are paths such as ``dataset/train/images/036.png``; only their last three components are
used (relative to ``data_root``).  Labels store mortar as 255; the dataset maps 255 -> 1 through mmseg's
``label_map`` (mmseg's default ``ignore_index=255`` would otherwise drop every mortar pixel).  Other values
are kept as they are, as in the official code (``test/accurate/163.png`` has 6 pixels of value 8, which
become class 8 and count as background), with a warning naming the file, the values and their pixel counts.
"""
from __future__ import annotations

import csv
import logging
from pathlib import Path

import mmcv
import numpy as np
import yaml
from mmengine import fileio
from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset

from visionx.registry import DATASETS
from visionx.utils.errors import ConfigError, DataFormatError, UserFileNotFoundError

LABEL_TYPES = ('accurate', 'noisy', 'pseudo')
SIZES = {'large': 'splits.yaml', 'small': 'splits_small.yaml'}
SPLITS = ('train', 'val', 'test')
LABEL_VALUES = (0, 255)  # background, mortar
_checked_labels: set[str] = set()  # label files already checked in this process


def unexpected_label_values(path: str | Path) -> dict[int, int]:
    """``{value: pixel count}`` of the values of a label file other than 0 and 255.

    The file is decoded as mmseg's ``LoadAnnotations`` does (``flag='unchanged'``, pillow backend).
    """
    label = mmcv.imfrombytes(fileio.get(str(path)), flag='unchanged', backend='pillow')
    values, counts = np.unique(np.asarray(label), return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts) if int(v) not in LABEL_VALUES}


def check_label_values(path: str | Path) -> None:
    """Warn about label values other than 0/255, naming the file, the values and their pixel counts.

    Each file is read and reported at most once per process (building the dataset again stays silent).
    """
    key = str(Path(path).resolve())
    if key in _checked_labels:
        return
    _checked_labels.add(key)
    extra = unexpected_label_values(path)
    if extra:
        counts = ', '.join(f'value {v}: {c} pixel{"s" if c != 1 else ""}' for v, c in sorted(extra.items()))
        print_log(f'{path}: unexpected label values ({counts}); TopoMortar labels are 0 (background) and 255 '
                  '(mortar). They are kept as their own classes, as in the official code, and count as '
                  'background in the metrics.', logger='current', level=logging.WARNING)


def read_groups(path: str | Path) -> dict[int, str]:
    """Read ``dataset_types.txt`` ("ID,group" rows, optional header) into ``{image id: group}``."""
    path = Path(path)
    if not path.is_file():
        raise UserFileNotFoundError(f'{path} not found: expected the CSV "ID,group" of TopoMortar test images')
    groups = {}
    with path.open() as f:
        for row in csv.reader(f):
            if not row or not row[0].strip() or not row[0].strip().isdigit():
                continue  # header or blank line
            if len(row) < 2:
                raise DataFormatError(f'{path}: bad row {row!r}, expected "ID,group"')
            groups[int(row[0])] = row[1].strip()
    return groups


@DATASETS.register_module()
class TopoMortarDataset(BaseSegDataset):
    """Binary mortar segmentation on red-brick walls.

    Args:
        data_root: folder of the official layout (above).
        split: ``'train'``, ``'val'`` or ``'test'``.
        label_type: ``'accurate'``, ``'noisy'`` or ``'pseudo'``; the test split always uses ``accurate``.
        size: training-set size, ``'large'`` (``splits.yaml``, 50 images) or ``'small'``
            (``splits_small.yaml``, 10 images).
        fold: key of the split files (1).
        **kwargs: passed to mmseg's ``BaseSegDataset`` (``pipeline``, ``test_mode``, ...).

    Every data item carries ``group`` (``indistr`` or an OOD group; ``'train'``/``'val'`` outside the test
    set) for per-group metrics; add ``'group'`` to ``PackSegInputs``' ``meta_keys``.
    """

    METAINFO = dict(classes=('background', 'mortar'), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self, data_root: str, split: str = 'train', label_type: str = 'accurate',
                 size: str = 'large', fold: int = 1, **kwargs) -> None:
        if split not in SPLITS:
            raise ConfigError(f'split must be one of {SPLITS}, got {split!r}')
        if label_type not in LABEL_TYPES:
            raise ConfigError(f'label_type must be one of {LABEL_TYPES}, got {label_type!r}')
        if size not in SIZES:
            raise ConfigError(f'size must be one of {tuple(SIZES)}, got {size!r}')
        self.split, self.label_type, self.size, self.fold = split, label_type, size, fold
        kwargs.setdefault('img_suffix', '.png')
        kwargs.setdefault('seg_map_suffix', '.png')
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> list[dict]:
        root = Path(self.data_root)
        split_file = root / SIZES[self.size]
        if not split_file.is_file():
            raise UserFileNotFoundError(f'{split_file} not found: expected the TopoMortar split file '
                                        f'({{{self.fold}: {{train: [...], val: [...], test: [...]}}}})')
        splits = yaml.safe_load(split_file.read_text())
        fold = splits.get(self.fold, splits.get(str(self.fold))) if isinstance(splits, dict) else None
        if not isinstance(fold, dict) or self.split not in fold:
            raise DataFormatError(f'{split_file}: no fold {self.fold!r} with a {self.split!r} list')
        groups = read_groups(root / 'dataset_types.txt') if self.split == 'test' else {}
        label_type = 'accurate' if self.split == 'test' else self.label_type
        data_list = []
        for entry in fold[self.split]:
            parts = Path(entry).parts
            if len(parts) < 3 or parts[-2] != 'images':
                raise DataFormatError(f'{split_file}: bad entry {entry!r}, expected ".../<split>/images/<ID>.png"')
            img = root / parts[-3] / 'images' / parts[-1]
            seg = root / parts[-3] / label_type / parts[-1]
            for p in (img, seg):
                if not p.is_file():
                    raise UserFileNotFoundError(f'{p} listed in {split_file} does not exist')
            check_label_values(seg)
            image_id = int(Path(parts[-1]).stem)
            group = groups.get(image_id, self.split) if self.split == 'test' else self.split
            data_list.append(dict(img_path=str(img), seg_map_path=str(seg), label_map={255: 1},
                                  reduce_zero_label=False, seg_fields=[], group=group, image_id=image_id))
        return data_list
