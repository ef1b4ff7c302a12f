"""Decode heads whose classifier grows by one block of output channels per incremental step."""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn
from mmseg.models.decode_heads import ASPPHead

from visionx.registry import MODELS
from visionx.utils.errors import ConfigError


class IncrementalClassifier(nn.Module):
    """One 1x1 convolution per step; the logits are their outputs concatenated in step order (MiB's ``cls``).

    Args:
        in_channels: feature channels.
        classes_per_step: output channels of every step so far (step 0 counts background).
    """

    def __init__(self, in_channels: int, classes_per_step: Sequence[int]) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.classifiers = nn.ModuleList()
        for n in classes_per_step:
            self.add_step(n)

    @property
    def classes_per_step(self) -> list[int]:
        return [c.out_channels for c in self.classifiers]

    def add_step(self, num_new: int) -> nn.Conv2d:
        """Append a classifier for ``num_new`` classes, initialised as mmseg's ``conv_seg`` (normal, std 0.01,
        bias 0); returns it."""
        if not isinstance(num_new, int) or num_new < 1:
            raise ConfigError(f'a step adds at least one class, got {num_new!r}')
        conv = nn.Conv2d(self.in_channels, num_new, kernel_size=1)
        nn.init.normal_(conv.weight, std=0.01)
        nn.init.zeros_(conv.bias)
        if self.classifiers:
            conv.to(self.classifiers[0].weight.device)
        self.classifiers.append(conv)
        return conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, sum(classes_per_step), H, W)."""
        return torch.cat([c(x) for c in self.classifiers], dim=1)


def mib_init(classifier: IncrementalClassifier) -> None:
    """MiB's initialisation of the newest step's classifier (Cermelli et al., CVPR 2020, Sec. 3.4).

    The new classes copy the background weights; the new classes' biases and the background bias become
    ``b_bg - log(n_new + 1)``, so that before training the new classes and background share the previous
    background probability equally and the old foreground probabilities are unchanged (official
    ``init_new_classifier``).
    """
    new, first = classifier.classifiers[-1], classifier.classifiers[0]
    with torch.no_grad():
        bias = first.bias[0] - math.log(new.out_channels + 1)
        new.weight.copy_(first.weight[0:1].expand_as(new.weight))
        new.bias.fill_(float(bias))
        first.bias[0] = bias


#: ``BaseDecodeHead`` arguments read only by its ``loss_by_feat``, which the class-incremental segmentors never
#: call: they compute their losses themselves, with the ignore label 255 of the CISS datasets.
SEGMENTOR_LOSS_KEYS = ('loss_decode', 'ignore_index', 'sampler', 'threshold')


def reject_loss_keys(head: str, kwargs: dict) -> None:
    """Refuse the :data:`SEGMENTOR_LOSS_KEYS` (and ``num_classes``) a class-incremental head would ignore."""
    if 'num_classes' in kwargs:
        raise ConfigError(f'{head}: set classes_per_step (num_classes is their sum)')
    given = [k for k in SEGMENTOR_LOSS_KEYS if k in kwargs]
    if given:
        raise ConfigError(f'{head}: do not set {", ".join(given)}: the incremental segmentor computes the losses '
                          '(on the segmentor, with the ignore label 255); the head never uses them')


@MODELS.register_module()
class IncrementalASPPHead(ASPPHead):
    """mmseg's DeepLabV3 ``ASPPHead`` with an :class:`IncrementalClassifier` as ``conv_seg``.

    Args:
        classes_per_step: output channels of every step so far; ``num_classes`` is their sum.
        **kwargs: ``ASPPHead`` arguments except ``num_classes``.  ``loss_decode``, ``ignore_index``,
            ``sampler`` and ``threshold`` are rejected: the
            incremental segmentor computes the losses (they need the previous model).
    """

    def __init__(self, classes_per_step: Sequence[int], **kwargs) -> None:
        reject_loss_keys('IncrementalASPPHead', kwargs)
        classes_per_step = list(classes_per_step)
        super().__init__(num_classes=sum(classes_per_step), **kwargs)
        self.conv_seg = IncrementalClassifier(self.channels, classes_per_step)

    def forward_with_features(self, inputs) -> tuple[torch.Tensor, torch.Tensor]:
        """The logits and the 256-channel (``channels``) feature map they are computed from (what BACS distils,
        the official DeepLab head output); one pass, same values as ``forward``."""
        feats = self._forward_feature(inputs)
        return self.cls_seg(feats), feats

    def add_step(self, num_new: int) -> nn.Conv2d:
        conv = self.conv_seg.add_step(num_new)
        self.num_classes = self.out_channels = sum(self.conv_seg.classes_per_step)
        return conv
