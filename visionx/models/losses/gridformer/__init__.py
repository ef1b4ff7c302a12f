"""GridFormer's margin binary cross-entropy."""
from .margin_bce import MarginBCELoss, margin_bce_loss

__all__ = ['MarginBCELoss', 'margin_bce_loss']
