"""Occupancy datasets in the Occupancy-Networks layout: ShapeNet (ONet ``dataset_small_v1.1``) and
ConvONet's Synthetic Indoor Scenes (METHODS.md §1.6)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import yaml
from mmengine.dataset import BaseDataset

from visionx.registry import DATASETS
from visionx.utils.deprecation import register_deprecated_alias
from visionx.utils.errors import ConfigError, DataFormatError, UserFileNotFoundError

from .io import load_query_points, load_surface


@DATASETS.register_module()
class ShapeNetDataset(BaseDataset):
    """ShapeNet in the Occupancy-Networks layout (``ShapeNetOccupancyDataset`` before 2026-11)::

        data_root/metadata.yaml                  # {synset: {id, name}} (optional)
        data_root/<synset>/{train,val,test}.lst  # one model id per line
        data_root/<synset>/<model>/pointcloud.npz   points (100000, 3) f16, normals, loc, scale
        data_root/<synset>/<model>/points.npz       points (100000, 3) f16, occupancies (packbits), loc, scale
        data_root/<synset>/<model>/boundary0.08/boundary_points.npz   points.npz keys + contrastive (N,) u8

    Each sample provides ``inputs`` (the full surface point cloud; subsample / jitter it in the pipeline),
    ``points`` / ``points_occ`` (uniform queries, or the boundary file's queries with
    ``points_contrastive`` when ``boundary_dir`` is set), optionally ``points_iou`` / ``points_iou_occ``
    (all uniform queries, for IoU) and ``surface_points`` / ``surface_normals`` (GT surface for Chamfer /
    normal consistency / F-score).

    Args:
        data_root: Dataset root.
        split: ``'train'``, ``'val'`` or ``'test'`` (reads ``<split>.lst``).
        classes: Synset folders to use; ``None`` = every sub-folder that has ``<split>.lst``.
        boundary_dir: Folder (relative to the model folder) of ``boundary_points.npz`` for stage 2
            (``'boundary0.08'``); ``None`` trains on uniform points.  A missing file is tolerated when the
            pipeline computes flags online (``BoundaryPointsFilter(online=True)``).
        with_iou: Add ``points_iou`` / ``points_iou_occ``.
        with_surface: Add ``surface_points`` / ``surface_normals``.
        seed: Seed of the per-sample generator in ``test_mode`` (fixed inputs across evaluations).
        max_samples: Keep only the first ``max_samples`` models (quick runs).
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments (``pipeline``, ``test_mode``...).
    """

    METAINFO = dict(classes=None)
    POINTS_FILE = 'points.npz'
    POINTCLOUD_FILE = 'pointcloud.npz'
    BOUNDARY_FILE = 'boundary_points.npz'

    def __init__(self, data_root: str, split: str = 'train', classes: Sequence[str] | None = None,
                 boundary_dir: str | None = None, with_iou: bool = False, with_surface: bool = False,
                 seed: int = 0, max_samples: int | None = None, **kwargs) -> None:
        if split not in ('train', 'val', 'test'):
            raise ConfigError(f"split must be 'train', 'val' or 'test', got {split!r}")
        self.split = split
        self.class_ids = list(classes) if classes is not None else None
        self.boundary_dir = boundary_dir
        self.with_iou = with_iou
        self.with_surface = with_surface
        self.seed = seed
        self.max_samples = max_samples
        super().__init__(data_root=data_root, **kwargs)

    # -- index -----------------------------------------------------------------------------------------
    def _category_names(self, root: Path) -> dict[str, str]:
        meta = root / 'metadata.yaml'
        if not meta.is_file():
            return {}
        try:
            data = yaml.safe_load(meta.read_text()) or {}
        except yaml.YAMLError as err:
            raise DataFormatError(f'{meta} is not valid YAML ({err}); expected {{synset: {{id, name}}}}') from err
        return {k: str(v.get('name', k)) if isinstance(v, dict) else str(k) for k, v in data.items()}

    def load_data_list(self) -> list[dict]:
        root = Path(self.data_root)
        if not root.is_dir():
            raise UserFileNotFoundError(f'{root} not found (expected an Occupancy-Networks dataset folder with '
                                        '<synset>/<split>.lst and <synset>/<model>/points.npz)')
        names = self._category_names(root)
        classes = self.class_ids
        if classes is None:
            classes = sorted(p.name for p in root.iterdir() if (p / f'{self.split}.lst').is_file())
        if not classes:
            raise UserFileNotFoundError(f'no <synset>/{self.split}.lst under {root}')
        self._metainfo['classes'] = tuple(classes)
        self._metainfo['class_names'] = tuple(names.get(c, c) for c in classes)
        data_list = []
        for cat in classes:
            lst = root / cat / f'{self.split}.lst'
            if not lst.is_file():
                raise UserFileNotFoundError(f'{lst} not found (one model id per line)')
            for model in (m.strip() for m in lst.read_text().splitlines()):
                if model:
                    data_list.append(dict(category=cat, category_name=names.get(cat, cat), model_id=model,
                                          model_dir=str(root / cat / model)))
        if self.max_samples is not None:
            data_list = data_list[:self.max_samples]
        return data_list

    # -- loading ---------------------------------------------------------------------------------------
    def _files(self, info: dict, rng: np.random.Generator) -> dict[str, Path]:
        model_dir = Path(info['model_dir'])
        files = dict(pointcloud=model_dir / self.POINTCLOUD_FILE, points=model_dir / self.POINTS_FILE)
        if self.boundary_dir is not None:
            files['boundary'] = model_dir / self.boundary_dir / self.BOUNDARY_FILE
        return files

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        rng = np.random.default_rng((self.seed, idx)) if self.test_mode else None
        files = self._files(info, rng if rng is not None else np.random.default_rng(np.random.randint(2**31)))
        surface = load_surface(files['pointcloud'], with_normals=self.with_surface)
        info['inputs'] = surface['points']
        if self.with_surface:
            info['surface_points'] = surface['points']
            info['surface_normals'] = surface['normals']
        uniform = load_query_points(files['points'], rng)
        train_pts = uniform
        if 'boundary' in files and files['boundary'].is_file():
            train_pts = load_query_points(files['boundary'], rng)
        info['points'], info['points_occ'] = train_pts['points'], train_pts['occ']
        if 'contrastive' in train_pts:
            info['points_contrastive'] = train_pts['contrastive']
        if self.with_iou:
            info['points_iou'], info['points_iou_occ'] = uniform['points'], uniform['occ']
        info['_rng'] = rng
        return info


@DATASETS.register_module()
class SyntheticRoomsDataset(ShapeNetDataset):
    """ConvONet's Synthetic Indoor Scenes::

        data_root/rooms_0X/{train,val,test}.lst
        data_root/rooms_0X/<scene>/pointcloud/pointcloud_00..09.npz
        data_root/rooms_0X/<scene>/points_iou/points_iou_00..09.npz
        data_root/rooms_0X/<scene>/points_iou/boundary0.08/boundary_points_00..09.npz   (stage 2)

    Every time a scene is loaded one of the ``multi_files`` re-samplings is drawn at random (official
    ``multi_files: 10``; also for validation and testing, where the draw is fixed per sample by ``seed``).
    The same file index is used for the point cloud, the queries and the boundary flags.

    Args:
        multi_files: Number of re-samplings per scene.
        boundary_dir: Relative to ``points_iou/`` (``'boundary0.08'``).
        **kwargs: See :class:`ShapeNetDataset`.
    """

    def __init__(self, data_root: str, multi_files: int = 10, **kwargs) -> None:
        if multi_files < 1:
            raise ConfigError(f'multi_files must be >= 1, got {multi_files}')
        self.multi_files = multi_files
        super().__init__(data_root=data_root, **kwargs)

    def _files(self, info: dict, rng: np.random.Generator) -> dict[str, Path]:
        model_dir = Path(info['model_dir'])
        i = int(rng.integers(0, self.multi_files))
        files = dict(pointcloud=model_dir / 'pointcloud' / f'pointcloud_{i:02d}.npz',
                     points=model_dir / 'points_iou' / f'points_iou_{i:02d}.npz')
        if self.boundary_dir is not None:
            files['boundary'] = model_dir / 'points_iou' / self.boundary_dir / f'boundary_points_{i:02d}.npz'
        return files


# Dataset classes are named after their benchmark (one scheme across VisionX).
ShapeNetOccupancyDataset = register_deprecated_alias(DATASETS, ShapeNetDataset, 'ShapeNetOccupancyDataset')
