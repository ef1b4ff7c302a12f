"""Few-shot segmentation datasets (RePRI protocol): PASCAL-5i, COCO-20i, episodes and the official resize."""
from .dataset import FewShotCocoDataset, FewShotPascalDataset
from .episodes import Episode, ScannedList, read_list, sample_episodes, scan_labels
from .splits import COCO_CLASSES, PASCAL_CLASSES, filter_seen_classes, split_classes
from .transforms import LongSideResizePad, long_side_hw

__all__ = [
    'COCO_CLASSES', 'Episode', 'FewShotCocoDataset', 'FewShotPascalDataset', 'LongSideResizePad',
    'PASCAL_CLASSES', 'ScannedList', 'filter_seen_classes', 'long_side_hw', 'read_list', 'sample_episodes',
    'scan_labels', 'split_classes'
]
