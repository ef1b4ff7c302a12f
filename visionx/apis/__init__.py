"""High-level inference APIs."""
from .object_cut import ObjectCutter  # noqa: F401
