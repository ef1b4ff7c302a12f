"""PASCAL-5i and COCO-20i few-shot datasets (RePRI's official protocol).

Two modes share one class:

- ``mode='base'``: base training.  Every listed image with a *base* class covering ≥ ``min_pixels``
  pixels; its label is remapped by mmseg's ``LoadAnnotations`` through ``label_map``: base classes to
  ``1..n_base`` (in sorted class-id order), novel classes to 255 (ignored), background 0 and 255 kept
  (official ``StandardData``).
- ``mode='episodic'``: test.  ``n_runs × episodes_per_run`` seeded episodes over the novel classes (see
  :mod:`.episodes`); an item is one task: the query (``inputs`` / ``data_samples``, with ``class_id``,
  ``run`` and ``episode`` in the metainfo) and its K supports (``support_inputs`` (K, 3, H, W) and
  ``support_masks`` (K, H, W) long tensors: tensors, not lists, because ``pseudo_collate`` transposes nested
  lists, which would pair the supports of one task with the masks of others).  Labels are binarised through ``label_map``: the episode's class → 1, every
  other class → 0, 255 kept (official ``EpisodicData``).  The same ``pipeline`` runs on every image.

On disk (paths relative to ``data_root``; ``ann_file`` is the official list):

- PASCAL: ``JPEGImages/x.jpg``, ``SegmentationClassAug/x.png`` (grayscale class ids 0..20, 255),
  ``lists/pascal/{train,val}.txt`` with lines ``JPEGImages/x.jpg SegmentationClassAug/x.png``;
- COCO 2014 (masks written by the official ``data/coco/create_masks.py``): ``train2014/x.jpg``,
  ``val2014/x.jpg``, ``train/x.png``, ``val/x.png`` (class ids 1..80), ``lists/coco/{train,val}.txt``
  with lines ``val2014/x.jpg val/x.png``.
"""
from __future__ import annotations

import os.path as osp
from typing import Any

import torch
from mmengine.dataset import BaseDataset

from visionx.registry import DATASETS

from .episodes import (MIN_PIXELS, check_enough_supports, read_list, sample_episodes, scan_labels)
from .splits import CLASS_NAMES, filter_seen_classes, split_classes


@DATASETS.register_module()
class FewShotPascalDataset(BaseDataset):
    """PASCAL-5i (VOC2012 + SBD ``SegmentationClassAug``) for base training and episodic testing.

    Args:
        ann_file: the official list (``lists/pascal/train.txt`` / ``val.txt``), relative to ``data_root``.
        fold: 0..3, or -1 (every class novel: the COCO→PASCAL test set with ``exclude_seen_from``).
        mode: ``'base'`` or ``'episodic'``.
        shot: support images per episode (1, 5, 10, ...).
        episodes_per_run: episodes per run (official ``test_num``, 1000).
        n_runs: runs (5 in the official ``scripts/test.sh``).
        seed: seed of the episode stream (official ``manual_seed`` 2020, + rank).
        min_pixels: eligibility threshold of a class in an image (2·32·32 = 2048).
        num_classes: foreground classes of the label maps (20 for PASCAL; synthetic datasets in this
            layout may use another multiple of 4).
        exclude_seen_from: ``dict(dataset='coco', fold=k)`` drops the test classes whose name is a base
            class of that training fold (domain shift; official ``filter_classes``).
        **kwargs: ``data_root``, ``pipeline``, ``test_mode``, ... as :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(classes=CLASS_NAMES['pascal'])
    DATASET = 'pascal'
    USE_SPLIT_COCO = False

    def __init__(self, ann_file: str = 'lists/pascal/val.txt', fold: int = 0, mode: str = 'episodic',
                 shot: int = 1, episodes_per_run: int = 1000, n_runs: int = 5, seed: int = 2020,
                 min_pixels: int = MIN_PIXELS, num_classes: int | None = None,
                 exclude_seen_from: dict | None = None, **kwargs) -> None:
        if mode not in ('base', 'episodic'):
            raise ValueError(f"mode must be 'base' or 'episodic', got {mode!r}")
        if int(shot) < 1 or int(episodes_per_run) < 1 or int(n_runs) < 1:
            raise ValueError(f'shot, episodes_per_run and n_runs must be >= 1, got {shot}, {episodes_per_run}, '
                             f'{n_runs}')
        if mode == 'base' and fold == -1:
            raise ValueError('mode="base" needs a fold 0..3 (fold -1 has no base class)')
        if exclude_seen_from is not None and mode == 'base':
            raise ValueError('exclude_seen_from only applies to mode="episodic"')
        self.fold, self.mode, self.shot = int(fold), mode, int(shot)
        self.episodes_per_run, self.n_runs, self.seed = int(episodes_per_run), int(n_runs), int(seed)
        self.min_pixels = int(min_pixels)
        self.num_classes = int(num_classes) if num_classes is not None else len(self.METAINFO['classes']) - 1
        self.base_classes, novel = split_classes(self.DATASET, self.fold, self.USE_SPLIT_COCO, self.num_classes)
        if exclude_seen_from is not None:
            src = dict(exclude_seen_from)
            novel = filter_seen_classes(self.DATASET, novel, src.pop('dataset'), int(src.pop('fold')),
                                        bool(src.pop('use_split_coco', True)))
            if src:
                raise ValueError(f'exclude_seen_from: unknown keys {sorted(src)} (expected dataset, fold, '
                                 'use_split_coco)')
        self.novel_classes = novel
        metainfo = kwargs.pop('metainfo', None)
        if metainfo is None and self.num_classes != len(self.METAINFO['classes']) - 1:
            metainfo = dict(classes=('background',) + tuple(f'class{c}' for c in range(1, self.num_classes + 1)))
        super().__init__(ann_file=ann_file, metainfo=metainfo, **kwargs)

    @property
    def class_list(self) -> list[int]:
        """Classes of this mode: base classes for ``'base'``, novel (test) classes for ``'episodic'``."""
        return self.base_classes if self.mode == 'base' else self.novel_classes

    def load_data_list(self) -> list[dict]:
        items = read_list(self.ann_file, self.data_root)
        scanned = scan_labels(items, self.class_list, self.num_classes, self.min_pixels)
        if self.mode == 'base':
            label_map = {c: 255 for c in range(1, self.num_classes + 1)}
            label_map.update({c: i + 1 for i, c in enumerate(self.base_classes)})
            return [dict(img_path=img, seg_map_path=seg, label_map=label_map, reduce_zero_label=False,
                         seg_fields=[]) for img, seg in scanned.items]
        check_enough_supports(scanned, self.shot, self.ann_file)
        episodes = sample_episodes(scanned, self.shot, self.episodes_per_run, self.n_runs, self.seed)

        def image(i: int) -> dict:
            return dict(img_path=scanned.items[i][0], seg_map_path=scanned.items[i][1])

        return [dict(query=image(ep.query), supports=[image(s) for s in ep.supports], class_id=ep.class_id,
                     run=ep.run, episode=e) for e, ep in enumerate(episodes)]

    def _load_image(self, paths: dict, class_id: int) -> dict:
        label_map = {c: int(c == class_id) for c in range(1, self.num_classes + 1)}
        return self.pipeline(dict(paths, label_map=label_map, reduce_zero_label=False, seg_fields=[]))

    def prepare_data(self, idx: int) -> Any:
        info = self.get_data_info(idx)
        if self.mode == 'base':
            return self.pipeline(info)
        query = self._load_image(info['query'], info['class_id'])
        supports = [self._load_image(s, info['class_id']) for s in info['supports']]
        query['data_samples'].set_metainfo(dict(class_id=info['class_id'], run=info['run'],
                                                episode=info['episode'], shot=len(supports)))
        return dict(inputs=query['inputs'], data_samples=query['data_samples'],
                    support_inputs=torch.stack([s['inputs'] for s in supports]),
                    support_masks=torch.cat([s['data_samples'].gt_sem_seg.data.long() for s in supports]))

    def episode_list(self) -> list[tuple[str, int, tuple[str, ...], int]]:
        """The tested episodes as ``(query image, class id, support images, run)``, image paths relative to
        ``data_root`` (for reproducibility checks)."""
        rel = (lambda p: osp.relpath(p, self.data_root)) if self.data_root else (lambda p: p)
        out = []
        for i in range(len(self)):
            info = self.get_data_info(i)
            out.append((rel(info['query']['img_path']), info['class_id'],
                        tuple(rel(s['img_path']) for s in info['supports']), info['run']))
        return out


@DATASETS.register_module()
class FewShotCocoDataset(FewShotPascalDataset):
    """COCO-20i (COCO 2014, masks of the official ``create_masks.py``; interleaved folds by default).

    Args:
        use_split_coco: interleaved folds ``{i+1, i+5, ..., i+77}`` (official ``use_split_coco: True``);
            ``False`` gives the contiguous 20-class folds.
        ann_file: ``lists/coco/train.txt`` / ``val.txt`` relative to ``data_root``.
        **kwargs: as :class:`FewShotPascalDataset`.
    """

    METAINFO = dict(classes=CLASS_NAMES['coco'])
    DATASET = 'coco'

    def __init__(self, ann_file: str = 'lists/coco/val.txt', use_split_coco: bool = True, **kwargs) -> None:
        self.USE_SPLIT_COCO = bool(use_split_coco)
        super().__init__(ann_file=ann_file, **kwargs)


__all__ = ['FewShotPascalDataset', 'FewShotCocoDataset']
