"""Data preprocessor for 3D volumes: moves data to the device and stacks equally sized inputs."""
from __future__ import annotations

import torch
from mmengine.model import BaseDataPreprocessor

from visionx.registry import MODELS


@MODELS.register_module()
class VolumeDataPreprocessor(BaseDataPreprocessor):
    """Cast a pseudo-collated batch of volumes to the device; stack the inputs when shapes agree.

    Training samples hold ``inputs`` of shape (V, 1, X, Y, Z) (V = 2 views for TraCoCo), stacked into
    (B, V, 1, X, Y, Z).  Evaluation volumes differ in size, so they stay a list of (1, X, Y, Z) tensors.
    Intensity normalisation is a pipeline transform (per volume), not done here.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)) and inputs and all(t.shape == inputs[0].shape for t in inputs):
            inputs = torch.stack(list(inputs))
        return dict(inputs=inputs, data_samples=data.get('data_samples'))
