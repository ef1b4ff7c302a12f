"""3D medical segmentation: V-Net, 3D U-Net and the TraCoCo co-training model (+ its losses)."""
from .cutmix import cutmix_3d, rand_boxes_3d
from .data_preprocessor import VolumeDataPreprocessor
from .inference import remove_small_components, sliding_window_predict, window_starts
from .losses import (CBCLoss, TraCoCoSupLoss, TranslationConsistencyLoss, cbc_loss, ce_dice_loss, neg_entropy,
                     overlap_logits, soft_dice_loss, translation_consistency_loss)
from visionx.engine.optimizers import CoTrainingOptimWrapperConstructor  # noqa: F401  (re-export)
from .tracoco import TraCoCo, sigmoid_rampup
from .unet3d import MedicalUNet3D
from .vnet import VNet

__all__ = [
    'VNet', 'MedicalUNet3D', 'TraCoCo', 'VolumeDataPreprocessor', 'CoTrainingOptimWrapperConstructor', 'CBCLoss',
    'TraCoCoSupLoss', 'TranslationConsistencyLoss', 'cbc_loss', 'ce_dice_loss', 'neg_entropy', 'overlap_logits',
    'soft_dice_loss', 'translation_consistency_loss', 'cutmix_3d', 'rand_boxes_3d', 'sliding_window_predict',
    'window_starts', 'remove_small_components', 'sigmoid_rampup'
]
