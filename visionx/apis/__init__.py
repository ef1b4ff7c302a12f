"""High-level inference APIs: loading trained models for the tools (``inference``) and object cut."""
from .inference import init_model  # noqa: F401
from .object_cut import ObjectCutter  # noqa: F401
