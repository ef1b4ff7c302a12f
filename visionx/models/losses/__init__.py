"""Losses (mmseg conventions: ``loss_weight``, ``reduction``, ``avg_factor``, ``loss_name``)."""
from . import basnet_hybrid, margin_bce, topology  # noqa: F401
