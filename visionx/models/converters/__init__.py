"""Converters from official checkpoints to VisionX parameter names (BASNet, GridFormer, BPKD students, RePRI).

``tools/model_converters/*.py`` are thin command-line wrappers of these modules' ``convert_file``.
"""
from . import basnet, bpkd, gridformer, repri  # noqa: F401
