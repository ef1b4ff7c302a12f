"""Metrics, one module per task."""
from . import fewshot, medical, reconstruction, sod, topology  # noqa: F401
