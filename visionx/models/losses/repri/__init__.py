"""RePRI's base-training loss: label-smoothed cross-entropy."""
from .label_smoothing import LabelSmoothedCrossEntropyLoss, label_smoothed_cross_entropy

__all__ = ['LabelSmoothedCrossEntropyLoss', 'label_smoothed_cross_entropy']
