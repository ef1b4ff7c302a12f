"""Datasets and their transforms, one sub-package per method family."""
from . import ciss, fewshot, medical, reconstruction, salient, topomortar  # noqa: F401
