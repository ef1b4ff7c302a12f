"""Metrics, one module per task."""
from . import ciss, fewshot, medical, reconstruction, sod, topology  # noqa: F401
