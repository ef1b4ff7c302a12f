"""Metrics, one module per task."""
from . import ciss, fewshot, medical, reconstruction, segmentation, sod, topology  # noqa: F401
