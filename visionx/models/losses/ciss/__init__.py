"""Class-incremental segmentation losses: MiB's unbiased CE / KD."""
from .mib import UnbiasedCrossEntropyLoss, UnbiasedKDLoss, unbiased_cross_entropy, unbiased_kd

__all__ = ['UnbiasedCrossEntropyLoss', 'UnbiasedKDLoss', 'unbiased_cross_entropy', 'unbiased_kd']
