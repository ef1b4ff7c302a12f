"""RePRI's base segmentor: mmseg's ``EncoderDecoder`` with a public bottleneck-feature method.

Base training is ordinary semantic segmentation on the base classes (PSPNet in the official code).  At
test time RePRI discards the classifier and works on the 512-d bottleneck features: the decode head's
features before its dropout and 1×1 ``conv_seg`` (official ``PSPNet.extract_features``).
"""
from __future__ import annotations

import torch
from mmseg.models.segmentors import EncoderDecoder

from visionx.registry import MODELS


@MODELS.register_module()
class FewShotEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` exposing the decode head's bottleneck features for few-shot inference.

    The decode head must provide ``_forward_feature`` (mmseg's ``PSPHead``, ``ASPPHead``, ``UPerHead``,
    ... do); it is checked at construction so a wrong head fails early.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not hasattr(self.decode_head, '_forward_feature'):
            raise ValueError(f'{type(self.decode_head).__name__} has no _forward_feature: '
                             'FewShotEncoderDecoder needs a decode head that separates its features '
                             'from its classifier (e.g. PSPHead)')

    @property
    def bottleneck_dim(self) -> int:
        """Channels of the bottleneck features (the decode head's ``channels``)."""
        return int(self.decode_head.channels)

    def extract_bottleneck_features(self, inputs: torch.Tensor) -> torch.Tensor:
        """Bottleneck features of preprocessed images.

        Args:
            inputs: (N, 3, H, W) normalised images (417×417 in the official protocol).

        Returns:
            (N, C, h, w) features (C = 512, h = w = 53 for 417×417 inputs at output stride 8).
        """
        return self.decode_head._forward_feature(self.extract_feat(inputs))
