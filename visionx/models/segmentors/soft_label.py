"""Soft-label (self-distillation) targets for segmentors.

TopoMortar's self-distillation framework (METHODS §3.4) trains rounds 2-3 on the previous round's softmax
probabilities.  The data pipeline packs them as a float (C, H, W) ``gt_soft_seg`` field of each
``SegDataSample`` (``PackTopoMortarInputs``); segmentors that declare ``supports_soft_labels = True``
pass them to their losses as (B, C, H, W) targets:

- :class:`~visionx.models.segmentors.DeepSupervisionSegmentor` (every deep-supervision output);
- :class:`SoftLabelEncoderDecoder`, mmseg's ``EncoderDecoder`` whose decode/auxiliary heads are trained on
  the soft targets when the batch carries them (and exactly like ``EncoderDecoder`` otherwise).
"""
from __future__ import annotations

import logging
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from mmseg.models.losses import accuracy
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.utils import add_prefix

from visionx.registry import MODELS

SOFT_LABEL_KEY = 'gt_soft_seg'
_warned_padding = False


def stack_soft_targets(data_samples: Sequence, size: Sequence[int] | None = None) -> torch.Tensor | None:
    """Stack the ``gt_soft_seg`` (C, H, W) fields of a batch into (B, C, H, W) float targets.

    Args:
        data_samples: the batch's ``SegDataSample`` list.
        size: (H, W) to pad to (bottom/right, as ``SegDataPreProcessor`` pads images and ``gt_sem_seg``);
            defaults to the largest soft label of the batch.  Padded pixels get an all-zero target: they add
            nothing to cross-entropy terms but their predictions still enter Dice denominators, so train on
            sizes that need no padding (TopoMortar: full 512-px images or crops that are multiples of the
            network's size divisor); a warning is logged once when padding happens.

    Returns:
        (B, C, H, W) float32 targets, or ``None`` when no sample carries soft labels.

    Raises:
        ValueError: only some samples of the batch carry soft labels, or their channel counts differ.
    """
    global _warned_padding
    present = [SOFT_LABEL_KEY in ds for ds in data_samples]
    if not any(present):
        return None
    if not all(present):
        raise ValueError(f'{sum(present)} of {len(present)} samples of the batch carry soft labels '
                         f'({SOFT_LABEL_KEY}); a batch must be all soft or all hard')
    maps = [getattr(ds, SOFT_LABEL_KEY).data.float() for ds in data_samples]
    channels = {m.shape[0] for m in maps}
    if len(channels) != 1:
        raise ValueError(f'soft labels of one batch have different channel counts: {sorted(channels)}')
    if size is None:
        size = (max(m.shape[-2] for m in maps), max(m.shape[-1] for m in maps))
    h, w = int(size[0]), int(size[1])
    padded = []
    for m in maps:
        ph, pw = h - m.shape[-2], w - m.shape[-1]
        if ph < 0 or pw < 0:
            raise ValueError(f'soft label of size {tuple(m.shape[-2:])} is larger than the batch size {(h, w)}')
        if (ph or pw) and not _warned_padding:
            _warned_padding = True
            print_log(f'soft labels padded from {tuple(m.shape[-2:])} to {(h, w)} with zero targets; '
                      'padded pixels still count in Dice terms', logger='current', level=logging.WARNING)
        padded.append(F.pad(m, (0, pw, 0, ph)) if ph or pw else m)
    return torch.stack(padded)


def soft_head_loss(head: nn.Module, inputs, soft: torch.Tensor) -> dict:
    """Losses of an mmseg decode head against soft targets (the soft counterpart of ``head.loss``).

    Args:
        head: an mmseg ``BaseDecodeHead`` whose ``loss_decode`` modules accept (B, C, H, W) soft targets
            (every TopoMortar loss does).
        inputs: the head's input features.
        soft: (B, C, H, W) soft targets.

    Returns:
        ``{loss_name: value, 'acc_seg': accuracy of the arg-max}``.
    """
    if getattr(head, 'sampler', None) is not None:
        raise ValueError(f'{type(head).__name__}: pixel samplers (OHEM) are not supported with soft labels')
    logits = head.forward(inputs)
    logits = resize(logits, size=soft.shape[2:], mode='bilinear', align_corners=head.align_corners)
    losses_decode = head.loss_decode if isinstance(head.loss_decode, nn.ModuleList) else [head.loss_decode]
    losses: dict = {}
    for loss_fn in losses_decode:
        name = loss_fn.loss_name
        losses[name] = losses.get(name, 0) + loss_fn(logits, soft)
    losses['acc_seg'] = accuracy(logits, soft.argmax(1))
    return losses


@MODELS.register_module()
class SoftLabelEncoderDecoder(EncoderDecoder):
    """mmseg ``EncoderDecoder`` that trains on self-distillation soft labels when the batch has them.

    If every data sample carries ``gt_soft_seg`` (C, H, W), the decode and auxiliary heads' logits are
    resized to the label size and their ``loss_decode`` modules get the (B, C, H, W) soft target instead of
    the hard ``gt_sem_seg`` (``acc_seg`` is measured against its arg-max).  Otherwise it is exactly
    ``EncoderDecoder``.  Same arguments as ``EncoderDecoder``.
    """

    supports_soft_labels = True

    def _soft_targets(self, data_samples: list) -> torch.Tensor | None:
        size = data_samples[0].gt_sem_seg.shape if data_samples and 'gt_sem_seg' in data_samples[0] else None
        return stack_soft_targets(data_samples, size)

    def _decode_head_forward_train(self, inputs, data_samples: list) -> dict:
        soft = self._soft_targets(data_samples)
        if soft is None:
            return super()._decode_head_forward_train(inputs, data_samples)
        return add_prefix(soft_head_loss(self.decode_head, inputs, soft), 'decode')

    def _auxiliary_head_forward_train(self, inputs, data_samples: list) -> dict:
        soft = self._soft_targets(data_samples)
        if soft is None:
            return super()._auxiliary_head_forward_train(inputs, data_samples)
        losses = {}
        heads = self.auxiliary_head if isinstance(self.auxiliary_head, nn.ModuleList) else [self.auxiliary_head]
        for idx, head in enumerate(heads):
            prefix = f'aux_{idx}' if len(heads) > 1 else 'aux'
            losses.update(add_prefix(soft_head_loss(head, inputs, soft), prefix))
        return losses
