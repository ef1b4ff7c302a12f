"""Whole networks shared by several segmentors (logits out, no loss): MONAI's DynUNet."""
from .dynunet import MonaiDynUNet

__all__ = ['MonaiDynUNet']
