"""Losses, one sub-package per method family (mmseg conventions: ``loss_weight``, ``reduction``,
``avg_factor``, ``loss_name``; shared plumbing in :mod:`.utils`)."""
from . import basnet, bpkd, ciss, gridformer, repri, topology, tracoco  # noqa: F401
from .utils import BaseLoss, check_loss_name, weight_reduce_loss

__all__ = ['BaseLoss', 'check_loss_name', 'weight_reduce_loss']
