"""mmseg's Pascal VOC and ADE20K datasets, restricted to one step of a class-incremental task.

Reference: METHODS.md part B §6.2-6.3 (SSUL/BARM ``datasets/voc.py``, ``datasets/ade.py``, ``utils/tasks.py``;
MiB ``dataset/utils.py``).  The classes below subclass mmseg's ``PascalVOCDataset`` / ``ADE20KDataset``: the
files are found by mmseg; only the image list is filtered and every sample carries a per-step ``label_map``,
which mmseg's ``LoadAnnotations`` applies to the mask.

``mode='train'``: images holding a class of the step (``setting='overlap'``), and no future class
(``'disjoint'``); the step's classes keep their model id, old and future classes become background (0), 255
stays.  ``mode='test'``: all images (``test_images='all'``, SSUL/BARM) or those holding at least one seen class
(``'seen'``, MiB/PLOP); seen classes get their model id, future classes 255.  ``mode='val'`` is the SSUL/BARM
in-training validation: the training filter and labels on the validation list.

The dataset's ``metainfo`` gains ``classes`` in model order (seen classes only), ``ciss_task``, ``ciss_step``,
``ciss_num_old`` (step-0 classes, background included) and ``ciss_num_seen``, which
:class:`~visionx.evaluation.metrics.CISSMetric` reads.
"""
from __future__ import annotations

import os.path as osp
from typing import Any

from mmseg.datasets import ADE20KDataset, PascalVOCDataset

from visionx.registry import DATASETS
from visionx.utils.errors import ConfigError, DataFormatError
from .class_lists import load_or_build_class_lists
from .tasks import CISSTask, get_task

MODES = ('train', 'val', 'test')
TEST_IMAGES = ('all', 'seen')


class CISSDatasetMixin:
    """Task, step and mode handling shared by the CISS datasets (see the module docstring).

    Args:
        task: task name (``'15-1'``) or custom steps (lists of dataset label ids).
        step: the step, ``0 .. num_steps - 1``.
        setting: ``'overlap'`` or ``'disjoint'`` (training image filter).
        mode: ``'train'``, ``'val'`` or ``'test'``.
        test_images: ``'all'`` or ``'seen'`` (test mode only).
        class_list_file: the per-image class lists (``*_cls.txt``); default ``<data_root>/<split>_cls.txt``,
            ``<split>`` the annotation file's stem (VOC) or the mask folder's name (ADE).  Relative paths are
            relative to ``data_root``.  Computed from the masks on first use.
    """

    CISS_DATASET = ''

    def _init_ciss(self, task: str | list, step: int, setting: str, mode: str, test_images: str,
                   class_list_file: str | None) -> None:
        self.ciss_task: CISSTask = get_task(self.CISS_DATASET, task)
        self.ciss_step = self.ciss_task.check_step(step)
        if setting not in ('overlap', 'disjoint'):
            raise ConfigError(f"CISS setting must be 'overlap' or 'disjoint', got {setting!r}")
        if mode not in MODES:
            raise ConfigError(f'CISS dataset mode must be one of {MODES}, got {mode!r}')
        if test_images not in TEST_IMAGES:
            raise ConfigError(f'test_images must be one of {TEST_IMAGES}, got {test_images!r}')
        self.ciss_setting, self.ciss_mode, self.test_images = setting, mode, test_images
        self._class_list_file = class_list_file

    def _class_list_path(self) -> str:
        if self._class_list_file:
            path = self._class_list_file
            return path if osp.isabs(path) else osp.join(self.data_root, path)
        if self.ann_file and osp.isfile(self.ann_file):
            split = osp.splitext(osp.basename(self.ann_file))[0]
        else:
            split = osp.basename(osp.normpath(self.data_prefix['seg_map_path']))
        return osp.join(self.data_root, f'{split}_cls.txt')

    def load_data_list(self) -> list[dict]:
        data_list = super().load_data_list()
        task, step = self.ciss_task, self.ciss_step
        names = [osp.splitext(osp.basename(d['seg_map_path']))[0] for d in data_list]
        class_lists = load_or_build_class_lists(names, [d['seg_map_path'] for d in data_list],
                                                self._class_list_path(), len(self.METAINFO['classes']),
                                                self.reduce_zero_label)
        if self.ciss_mode == 'test':
            lut = task.test_lut(step)
            seen = task.seen_ids(step) - {0}
            keep = [self.test_images == 'all' or bool(c & seen) for c in class_lists]
        else:
            lut = task.train_lut(step)
            keep = [task.keep_image(c, step, self.ciss_setting) for c in class_lists]
        label_map = {i: int(lut[i]) for i in range(len(self.METAINFO['classes'])) if lut[i] != i}
        out = []
        for info, k in zip(data_list, keep):
            if k:
                info['label_map'] = label_map or None
                out.append(info)
        if not out:
            raise DataFormatError(f'{self.data_root}: no image of {self.ann_file or self.data_prefix["seg_map_path"]} '
                                  f'is left for {self.CISS_DATASET} task {task.name!r} step {step} '
                                  f'({self.ciss_mode}, {self.ciss_setting})')
        return out

    def _add_ciss_metainfo(self) -> None:
        task, step = self.ciss_task, self.ciss_step
        all_names = self.METAINFO['classes']
        n_seen = task.num_seen(step)
        self._metainfo.update(
            classes=tuple(all_names[c] for c in task.order[:n_seen]),
            palette=[self.METAINFO['palette'][c] for c in task.order[:n_seen]],
            ciss_task=task.name, ciss_step=step, ciss_num_old=task.classes_per_step[0], ciss_num_seen=n_seen)


@DATASETS.register_module()
class CISSVOCDataset(CISSDatasetMixin, PascalVOCDataset):
    """Pascal VOC 2012 (with ``SegmentationClassAug`` masks) at one step of a CISS task.

    See :class:`CISSDatasetMixin` for the CISS arguments; the others go to mmseg's ``PascalVOCDataset``
    (``ann_file`` a list of image names, ``data_prefix=dict(img_path='JPEGImages',
    seg_map_path='SegmentationClassAug')``).
    """

    CISS_DATASET = 'voc'

    def __init__(self, task: str | list, step: int = 0, setting: str = 'overlap', mode: str = 'train',
                 test_images: str = 'all', class_list_file: str | None = None, **kwargs: Any) -> None:
        if kwargs.get('reduce_zero_label'):
            raise ConfigError('CISSVOCDataset: VOC keeps background as class 0 (reduce_zero_label=False)')
        if kwargs.get('metainfo'):
            raise ConfigError('CISSVOCDataset sets its classes from the task; remove metainfo')
        self._init_ciss(task, step, setting, mode, test_images, class_list_file)
        super().__init__(**kwargs)
        self._add_ciss_metainfo()


@DATASETS.register_module()
class CISSADE20KDataset(CISSDatasetMixin, ADE20KDataset):
    """ADE20K (``images/``, ``annotations/``) at one step of a CISS task: 151 classes, 0 = background.

    Unlike mmseg's ADE20K setting (``reduce_zero_label=True``, 150 classes), CISS keeps the mask's 0 as the
    background class (MiB/SSUL/BARM), so the classes are ``('background', *ADE20KDataset classes)``.
    """

    CISS_DATASET = 'ade'
    METAINFO = dict(classes=('background', *ADE20KDataset.METAINFO['classes']),
                    palette=[[0, 0, 0], *ADE20KDataset.METAINFO['palette']])

    def __init__(self, task: str | list, step: int = 0, setting: str = 'overlap', mode: str = 'train',
                 test_images: str = 'all', class_list_file: str | None = None, **kwargs: Any) -> None:
        if kwargs.pop('reduce_zero_label', False):
            raise ConfigError('CISSADE20KDataset keeps the mask\'s 0 as background (reduce_zero_label=False)')
        if kwargs.get('metainfo'):
            raise ConfigError('CISSADE20KDataset sets its classes from the task; remove metainfo')
        self._init_ciss(task, step, setting, mode, test_images, class_list_file)
        super().__init__(reduce_zero_label=False, **kwargs)
        self._add_ciss_metainfo()
