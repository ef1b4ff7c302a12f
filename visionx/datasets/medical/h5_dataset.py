"""HDF5 volume datasets of TraCoCo: LA, Pancreas-CT and BraTS19 (``docs/METHODS.md`` part B §2.5).

Every dataset is a split list (one case id per line) plus one HDF5 file per case holding the datasets
``image`` (float, X × Y × Z) and ``label`` (binary, X × Y × Z).  Only the file naming differs:

=========  =======================================  ====================================
dataset    file of case ``<id>``                     lists
=========  =======================================  ====================================
LA         ``<data_prefix>/<id>/mri_norm2.h5``       ``train.list`` (80), ``eval.list`` (20)
Pancreas   ``<data_prefix>/<id>_norm.h5``            ``train.list`` (62), ``eval.list`` (20)
BraTS19    ``<data_prefix>/<id>.h5``                 ``train.list`` (249), ``test.list`` (60)
=========  =======================================  ====================================

The first ``labeled_num`` ids of the training list are the labelled cases, the others unlabelled (their
labels are loaded but never used by the losses).  Blank lines are ignored (the official loader drops the
last element of the list, which is the trailing empty line).
"""
from __future__ import annotations

import os.path as osp

from mmengine.dataset import BaseDataset

from visionx.registry import DATASETS
from visionx.utils.deprecation import register_deprecated_alias
from visionx.utils.errors import ConfigError, DataFormatError, UserFileNotFoundError


@DATASETS.register_module()
class MedicalH5Dataset(BaseDataset):
    """Case-list + one-HDF5-per-case volume dataset.

    Args:
        split_file: The case list, relative to ``data_root``.
        file_template: Path of a case's file relative to ``data_prefix['img_path']``; ``{case}`` is replaced.
        labeled_num: Number of labelled cases (the first ids of the list); None marks all as labelled.
        spacing: Voxel spacing in mm (x, y, z) if known, copied into each sample (metrics in mm).
        **kwargs: :class:`~mmengine.dataset.BaseDataset` arguments (``data_root``, ``data_prefix``,
            ``pipeline``, ``test_mode``, ...).  ``data_prefix`` defaults to ``dict(img_path='data')``.
    """

    METAINFO = dict(classes=('background', 'foreground'))

    def __init__(self, split_file: str = 'train.list', file_template: str = '{case}.h5',
                 labeled_num: int | None = None, spacing: tuple[float, float, float] | None = None,
                 **kwargs) -> None:
        if '{case}' not in file_template:
            raise ConfigError(f"file_template must contain '{{case}}', got {file_template!r}")
        self.split_file, self.file_template = split_file, file_template
        self.labeled_num, self.spacing = labeled_num, spacing
        kwargs.setdefault('data_prefix', dict(img_path='data'))
        super().__init__(**kwargs)

    def load_data_list(self) -> list[dict]:
        list_path = osp.join(self.data_root or '', self.split_file)
        if not osp.isfile(list_path):
            raise UserFileNotFoundError(f'case list {list_path} not found; expected a text file with one case id '
                                        'per line (e.g. train.list / eval.list)')
        with open(list_path) as f:
            cases = [line.strip() for line in f if line.strip()]
        if not cases:
            raise DataFormatError(f'case list {list_path} is empty')
        n_lab = len(cases) if self.labeled_num is None else int(self.labeled_num)
        if not 0 < n_lab <= len(cases):
            raise ConfigError(f'labeled_num={self.labeled_num} must be in [1, {len(cases)}] for {list_path}')
        prefix = self.data_prefix.get('img_path', '')
        data_list = []
        for i, case in enumerate(cases):
            path = osp.join(prefix, self.file_template.format(case=case))
            if not osp.isfile(path):
                raise UserFileNotFoundError(f'volume of case {case!r} not found at {path} (listed in {list_path}); '
                                            f'expected an HDF5 file with datasets "image" and "label"')
            data_list.append(dict(case=case, h5_path=path, is_labeled=i < n_lab, sample_idx=i,
                                  spacing=self.spacing))
        return data_list

    @property
    def labeled_indices(self) -> list[int]:
        """Indices of the labelled cases."""
        return [i for i in range(len(self)) if self.get_data_info(i)['is_labeled']]

    @property
    def unlabeled_indices(self) -> list[int]:
        """Indices of the unlabelled cases."""
        return [i for i in range(len(self)) if not self.get_data_info(i)['is_labeled']]


@DATASETS.register_module()
class LAHeartDataset(MedicalH5Dataset):
    """2018 Left Atrium challenge, UA-MT pre-processing: ``data/<id>/mri_norm2.h5``."""

    def __init__(self, file_template: str = '{case}/mri_norm2.h5', **kwargs) -> None:
        super().__init__(file_template=file_template, **kwargs)


@DATASETS.register_module()
class PancreasDataset(MedicalH5Dataset):
    """NIH Pancreas-CT, MC-Net+ pre-processing: ``data/<id>_norm.h5`` (``PancreasH5Dataset`` before 2026-11)."""

    def __init__(self, file_template: str = '{case}_norm.h5', **kwargs) -> None:
        super().__init__(file_template=file_template, **kwargs)


@DATASETS.register_module()
class BraTS19Dataset(MedicalH5Dataset):
    """BraTS 2019, single-channel whole-tumour protocol: ``data/<id>.h5`` (``BraTS19H5Dataset`` before 2026-11).

    The official training script validates on ``val.list``, which is not in the official repository;
    point ``split_file`` at ``test.list`` (or your own list) instead.
    """

    def __init__(self, file_template: str = '{case}.h5', **kwargs) -> None:
        super().__init__(file_template=file_template, **kwargs)


# Dataset classes are named after their benchmark; the old names carried the file format.
PancreasH5Dataset = register_deprecated_alias(DATASETS, PancreasDataset, 'PancreasH5Dataset')
BraTS19H5Dataset = register_deprecated_alias(DATASETS, BraTS19Dataset, 'BraTS19H5Dataset')
