"""TopoMortar: dataset in its official layout, its transforms, and a synthetic brick-wall generator."""
from .dataset import TopoMortarDataset
from .soft_labels import LoadSoftLabels, load_soft_label, save_soft_label, soft_label_path
from .transforms import (PackTopoMortarInputs, RandHue, TopoMortarAugment, TubedSkeleton,
                         ZScoreNormalize)

__all__ = ['TopoMortarDataset', 'LoadSoftLabels', 'PackTopoMortarInputs', 'RandHue', 'TopoMortarAugment',
           'TubedSkeleton', 'ZScoreNormalize', 'load_soft_label', 'save_soft_label', 'soft_label_path']
