"""Salient-object / binary segmentation networks (BASNet)."""
from .basnet import BASNet, BASNetDecoder, BASNetEncoder, BasicBlock, RefineUNet, fuse_conv_bn_

__all__ = ['BASNet', 'BASNetDecoder', 'BASNetEncoder', 'BasicBlock', 'RefineUNet', 'fuse_conv_bn_']
