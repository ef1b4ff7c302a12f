"""TraCoCo's losses: supervised CE + Dice, translation consistency, the entropy regulariser and CBC."""
from .losses import (Box, CBCLoss, OverlapNegEntropyLoss, TraCoCoSupLoss, TranslationConsistencyLoss, cbc_loss,
                     ce_dice_loss, neg_entropy, overlap_logits, soft_dice_loss, translation_consistency_loss)

__all__ = [
    'Box', 'CBCLoss', 'OverlapNegEntropyLoss', 'TraCoCoSupLoss', 'TranslationConsistencyLoss', 'cbc_loss',
    'ce_dice_loss', 'neg_entropy', 'overlap_logits', 'soft_dice_loss', 'translation_consistency_loss'
]
