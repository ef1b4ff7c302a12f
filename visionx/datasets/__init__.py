"""Datasets and their transforms, one sub-package per method family."""
from . import ciss, medical, reconstruction, salient, topomortar  # noqa: F401
