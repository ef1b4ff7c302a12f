"""Surface reconstruction: GridFormer (AAAI 2024) - point-grid attention U-Nets, local decoder, meshing."""
from .decoder import LocalDecoder
from .gridformer import GridFormer, GridFormerEncoder
from .mesh_extraction import mise, sparse_marching_cubes
from .point_grid_attention import PointGridAttention
from .unet2d import PointGridUNet2D
from .unet3d import PointGridUNet3D

__all__ = [
    'GridFormer', 'GridFormerEncoder', 'LocalDecoder', 'PointGridAttention', 'PointGridUNet2D',
    'PointGridUNet3D', 'mise', 'sparse_marching_cubes'
]
