"""3D medical volumes (TraCoCo): HDF5 datasets, translated-view transforms, two-stream sampler, synthetic data."""
from .h5_dataset import (BraTS19Dataset, BraTS19H5Dataset, LAHeartDataset, MedicalH5Dataset, PancreasDataset,
                         PancreasH5Dataset)
from .sampler import TwoStreamBatchSampler
from .transforms import (LoadH5Volume, MinMaxNormalize3D, PackVolumeInputs, RandomBrightness3D, RandomRotFlip3D,
                         TranslatedViewCrop3D, check_volume)

__all__ = [
    'MedicalH5Dataset', 'LAHeartDataset', 'PancreasDataset', 'BraTS19Dataset', 'PancreasH5Dataset', 'BraTS19H5Dataset',
    'TwoStreamBatchSampler',
    'LoadH5Volume', 'RandomRotFlip3D', 'MinMaxNormalize3D', 'RandomBrightness3D', 'TranslatedViewCrop3D',
    'PackVolumeInputs', 'check_volume'
]
