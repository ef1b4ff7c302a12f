"""Semantic-segmentation benchmarks read with mmseg's own dataset classes (Cityscapes, ADE20K,
Pascal-Context-59): synthetic stand-ins in their on-disk layouts and the BPKD CPU demo data."""
from .synthetic import (make_demo, paint_scene, write_ade20k_layout, write_cityscapes_layout,
                        write_pascal_context_layout)

__all__ = ['make_demo', 'paint_scene', 'write_ade20k_layout', 'write_cityscapes_layout',
           'write_pascal_context_layout']
