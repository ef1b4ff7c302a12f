"""Class-incremental semantic segmentation (CISS): tasks, label mapping, per-step datasets."""
from .class_lists import load_or_build_class_lists, mask_classes, read_class_lists
from .dataset import CISSADE20KDataset, CISSVOCDataset
from .tasks import TASKS, CISSTask, get_task
from .transforms import CenterCropFrame

__all__ = ['TASKS', 'CISSTask', 'get_task', 'CISSVOCDataset', 'CISSADE20KDataset', 'load_or_build_class_lists',
           'mask_classes', 'read_class_lists', 'CenterCropFrame']
