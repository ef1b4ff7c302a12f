"""Salient-object datasets, transforms and the synthetic demo generator (BASNet)."""
from .salient_dataset import SalientDataset
from .transforms import LoadSalientMask, NormalizeByMax, PackSalientInputs, read_mask

__all__ = ['SalientDataset', 'LoadSalientMask', 'NormalizeByMax', 'PackSalientInputs', 'read_mask']
