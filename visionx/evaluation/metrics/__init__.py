"""Metrics, one module per task."""
from . import medical, reconstruction, sod, topology  # noqa: F401
