"""TopoMortar: dataset in its official layout, its transforms, and a synthetic brick-wall generator."""
from .dataset import TopoMortarDataset
from .transforms import (PackTopoMortarInputs, RandHue, TopoMortarAugment, TubedSkeleton,
                         ZScoreNormalize)

__all__ = ['TopoMortarDataset', 'PackTopoMortarInputs', 'RandHue', 'TopoMortarAugment', 'TubedSkeleton',
           'ZScoreNormalize']
