"""Segmentors: TopoMortar's deep-supervision segmentor on MONAI's DynUNet; soft-label (self-distillation)
training for it and for mmseg's EncoderDecoder."""
from .deep_supervision import DeepSupervisionSegmentor, deep_supervision_weights
from .soft_label import SoftLabelEncoderDecoder, stack_soft_targets

__all__ = ['DeepSupervisionSegmentor', 'SoftLabelEncoderDecoder', 'deep_supervision_weights',
           'stack_soft_targets']
