"""``IncrementalEncoderDecoder``: an mmseg encoder-decoder that grows per CISS step and keeps the frozen
previous-step model.

Reference: METHODS.md part B §6 and §7 (previous-model handling); MiB (Cermelli et al., CVPR 2020) for the
fine-tuning and MiB baselines.

Construction at step ``T = len(classes_per_step) - 1``:

1. the network is built for steps ``0..T-1`` (for ``T = 0``: step 0, and nothing else happens);
2. ``prev_checkpoint`` (the step-(T-1) checkpoint) is loaded into it, strictly (``prev_model.*`` keys of
   that checkpoint are skipped); without one (tests, benchmarks, ``tools/test.py`` which then loads a whole
   step checkpoint) the weights stay as constructed;
3. a deep copy becomes ``prev_model``: ``eval()`` always (also after ``train()``), ``requires_grad=False``,
   so it is excluded from the optimizer and from DDP's unused-parameter checks;
4. the classifier grows by ``classes_per_step[T]`` channels, initialised by ``new_classifier_init``
   (``'normal'``: mmseg's std 0.01; ``'mib'``: MiB's background imprinting).

All this happens in ``__init__``, before the runner builds the optimizer.  The model is then marked
initialised, so the runner's ``init_weights()`` does not overwrite the loaded weights (e.g. with an ImageNet
``init_cfg``).  The previous model is part of the state dict, so resuming inside a step restores it too.

Losses (training at label resolution, logits upsampled bilinearly): ``loss_ce(logits, labels)`` (given
``num_old_classes=`` when the loss declares ``needs_old_classes``, MiB's unbiased CE), plus at steps >= 1
``loss_kd(logits, prev_logits)`` when set (MiB's unbiased KD).  Fine-tuning = plain CE and no KD.
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch
import torch.nn.functional as F
from mmseg.models.segmentors import EncoderDecoder
from mmseg.utils import SampleList

from visionx.registry import MODELS
from visionx.utils.checkpoint import check_state_dict_matches, load_state_dict_file
from visionx.utils.errors import ConfigError
from .heads import IncrementalClassifier, mib_init

PREV_PREFIX = 'prev_model.'
NEW_CLASSIFIER_INITS = ('normal', 'mib')


def load_step_state(path: str) -> dict:
    """The model state dict of a step checkpoint (``module.`` and ``prev_model.*`` keys removed).

    Raises:
        UserFileNotFoundError: no such file.
        CheckpointMismatchError: the file holds no state dict.
    """
    state = load_state_dict_file(path, what='previous-step checkpoint')
    return {k: v for k, v in state.items() if not k.startswith(PREV_PREFIX)}


def load_strict(model: torch.nn.Module, state: dict, path: str) -> None:
    """Load ``state`` into ``model``; any missing / unexpected / mis-shaped key is a CheckpointMismatchError."""
    check_state_dict_matches(state, model, path, 'the previous-step model',
                             hint='is it a checkpoint of step T-1 of this task and model?')
    model.load_state_dict(state, strict=True)


@MODELS.register_module()
class IncrementalEncoderDecoder(EncoderDecoder):
    """Encoder-decoder for class-incremental segmentation (see the module docstring).

    Args:
        classes_per_step: output channels of steps ``0..T`` (step 0 counts background); set per step by
            :class:`~visionx.engine.runner.IncrementalRunner`.
        backbone, decode_head, neck, train_cfg, test_cfg, data_preprocessor, init_cfg: as ``EncoderDecoder``;
            ``decode_head`` must accept ``classes_per_step`` and have ``add_step(n)``
            (:class:`IncrementalASPPHead`).
        prev_checkpoint: the step-(T-1) checkpoint (required by the runner at ``T >= 1``).
        loss_ce: segmentation loss on the step's labels (mmseg ``CrossEntropyLoss`` for fine-tuning,
            ``UnbiasedCrossEntropyLoss`` for MiB).
        loss_kd: distillation from the previous model at steps >= 1 (``UnbiasedKDLoss``), or ``None``.
        new_classifier_init: ``'normal'`` or ``'mib'``.
    """

    def __init__(self, classes_per_step: Sequence[int], backbone: dict, decode_head: dict,
                 prev_checkpoint: str | None = None,
                 loss_ce: dict = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
                                      avg_non_ignore=True, loss_name='loss_ce'),
                 loss_kd: dict | None = None, new_classifier_init: str = 'normal', neck: dict | None = None,
                 auxiliary_head: dict | None = None, train_cfg: dict | None = None, test_cfg: dict | None = None,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None) -> None:
        classes_per_step = [int(c) for c in classes_per_step]
        if not classes_per_step or min(classes_per_step) < 1:
            raise ConfigError(f'classes_per_step must be a non-empty list of positive counts, got {classes_per_step}')
        if auxiliary_head is not None:
            raise ConfigError('IncrementalEncoderDecoder has no auxiliary head (the CISS methods use none)')
        if new_classifier_init not in NEW_CLASSIFIER_INITS:
            raise ConfigError(f'new_classifier_init must be one of {NEW_CLASSIFIER_INITS}, got {new_classifier_init!r}')
        step = len(classes_per_step) - 1
        if step == 0 and prev_checkpoint is not None:
            raise ConfigError('prev_checkpoint is for steps >= 1 (step 0 starts from the backbone init_cfg)')
        decode_head = dict(decode_head, classes_per_step=classes_per_step[:max(step, 1)])
        super().__init__(backbone=backbone, decode_head=decode_head, neck=neck, train_cfg=train_cfg,
                         test_cfg=test_cfg, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.step, self.classes_per_step = step, classes_per_step
        if new_classifier_init == 'mib' and not isinstance(getattr(self.decode_head, 'conv_seg', None),
                                                           IncrementalClassifier):
            raise ConfigError(f"new_classifier_init='mib' initialises the new 1x1 classifier of an "
                              f'IncrementalClassifier; {type(self.decode_head).__name__} has none (it '
                              "initialises its new classes itself): use new_classifier_init='normal'")
        self.new_classifier_init = new_classifier_init
        self.loss_ce = MODELS.build(loss_ce)
        self.loss_kd = MODELS.build(loss_kd) if loss_kd is not None else None
        self.prev_model: IncrementalEncoderDecoder | None = None
        if step >= 1:
            self._start_step(prev_checkpoint)

    # model surgery -------------------------------------------------------------------------------------
    def _start_step(self, prev_checkpoint: str | None) -> None:
        if prev_checkpoint is not None:
            load_strict(self, load_step_state(prev_checkpoint), prev_checkpoint)
        prev = copy.deepcopy(self)
        prev.requires_grad_(False)
        prev.eval()
        self.grow(self.classes_per_step[-1])
        self.prev_model = prev
        self._is_init = True  # keep the loaded / copied weights through the runner's init_weights()

    def grow(self, num_new: int) -> None:
        """Add ``num_new`` output channels (the classifier of the new step) and initialise them."""
        self.decode_head.add_step(num_new)
        if self.new_classifier_init == 'mib':
            mib_init(self.decode_head.conv_seg)
        self.num_classes = self.out_channels = self.decode_head.num_classes

    def train(self, mode: bool = True):
        super().train(mode)
        if self.prev_model is not None:
            self.prev_model.eval()
        return self

    @property
    def num_old_classes(self) -> int:
        """Classes known before this step (background included); 0 at step 0."""
        return sum(self.classes_per_step[:-1])

    # training ------------------------------------------------------------------------------------------
    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> raw logits (B, C, h, w) at the head's resolution."""
        return self.decode_head(self.extract_feat(inputs))

    def loss(self, inputs: torch.Tensor, data_samples: SampleList) -> dict:
        labels = torch.stack([s.gt_sem_seg.data.squeeze(0) for s in data_samples]).long()
        logits = F.interpolate(self.logits(inputs), size=labels.shape[-2:], mode='bilinear',
                               align_corners=self.align_corners)
        losses = {}
        if getattr(self.loss_ce, 'needs_old_classes', False):
            losses[self.loss_ce.loss_name] = self.loss_ce(logits, labels, num_old_classes=self.num_old_classes)
        else:
            losses[self.loss_ce.loss_name] = self.loss_ce(logits, labels, ignore_index=255)
        if self.prev_model is not None and self.loss_kd is not None:
            with torch.no_grad():
                prev = F.interpolate(self.prev_model.logits(inputs), size=labels.shape[-2:], mode='bilinear',
                                     align_corners=self.align_corners)
            losses[self.loss_kd.loss_name] = self.loss_kd(logits, prev)
        return losses
