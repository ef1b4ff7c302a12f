"""BPKD (WACV 2024) distillation losses: edge / body masks from the ground truth, the edge and body losses,
and channel-wise distillation (CWD) as the baseline."""
from .losses import (BPKDBodyLoss, BPKDEdgeLoss, ChannelWiseDivergenceLoss, bpkd_body_loss, bpkd_edge_loss,
                     channel_wise_divergence)
from .masks import class_edge_map, edge_body_masks, pool_mask

__all__ = [
    'BPKDBodyLoss', 'BPKDEdgeLoss', 'ChannelWiseDivergenceLoss', 'bpkd_body_loss', 'bpkd_edge_loss',
    'channel_wise_divergence', 'class_edge_map', 'edge_body_masks', 'pool_mask'
]
