"""3D medical segmentation: V-Net, 3D U-Net and the TraCoCo co-training model (losses in
:mod:`visionx.models.losses.tracoco`)."""
from .cutmix import cutmix_3d, rand_boxes_3d
from .data_preprocessor import VolumeDataPreprocessor
from .inference import remove_small_components, sliding_window_predict, window_starts
from .tracoco import TraCoCo, sigmoid_rampup
from .unet3d import MedicalUNet3D
from .vnet import VNet

__all__ = [
    'VNet', 'MedicalUNet3D', 'TraCoCo', 'VolumeDataPreprocessor', 'cutmix_3d', 'rand_boxes_3d',
    'sliding_window_predict', 'window_starts', 'remove_small_components', 'sigmoid_rampup'
]
