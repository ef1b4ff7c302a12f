"""Datasets and transforms.  One sub-package per method family."""
from . import transforms  # noqa: F401
from . import medical, reconstruction, salient, topomortar  # noqa: F401
