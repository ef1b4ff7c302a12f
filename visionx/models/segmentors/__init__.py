"""Segmentors: TopoMortar's deep-supervision segmentor on MONAI's DynUNet."""
from .deep_supervision import DeepSupervisionSegmentor, MonaiDynUNet, deep_supervision_weights

__all__ = ['DeepSupervisionSegmentor', 'MonaiDynUNet', 'deep_supervision_weights']
