"""BACS: background-aware continual segmentation (Elaraby et al., arXiv 2404.13148) on the CISS engine.

Reference: METHODS.md part B §5 (architecture, losses, replay) and §7 (quirks); official code
mostafaelaraby/BACS-Continual-Semantic-Segmentation (``networks/bg_detector.py``, ``loss/prototypes.py``,
``loss/base_loss.py``, ``loss/bacs_loss.py``).

:class:`BgShiftDetector` is the backward background-shift detector: a projector on the backbone output
(3x3 conv ``C -> C/4``, BN, ReLU, dropout 0.1) gives the embedding ``g``; one running-mean prototype ``mu_t``
per task (buffers, so they are checkpointed and survive a resume); one 1x1 head per task on
``|sigmoid(g) - sigmoid(mu_t)|`` whose logits are upsampled to the label size (official: x16 bilinear with
``align_corners=True``, which equals the label size at output stride 16; here the label size directly, so
other strides work).

:class:`BACSSegmentor` is an :class:`~visionx.models.ciss.IncrementalEncoderDecoder` whose training step is
BACS's (official ``compute_base_loss`` + ``BACSLoss.compute_loss``):

* every step: the prototype of each task whose classes label a pixel of the batch is updated with the
  detached ``g`` of those pixels (labels nearest-downsampled to ``g``), then the detector head of the current
  step is trained with the binary focal loss (target 1 on labelled foreground, 0 on background), weighted by
  ``max(0, 1 - exp(epoch - max_epochs))``.  Step 0 trains the projector and the backbone through it; from
  step 1 on the embedding and the prototype are detached, so only the new head learns.
* step 0: the plain CE of ``loss_ce`` (``BgAwareCrossEntropyLoss`` at ``num_old_classes=0``).
* steps >= 1: ``s = max_t sigmoid(head_t)`` over all task heads (eval mode, no grad) weights the
  background-shift-aware CE; the masked feature distillation compares the decode head's features (DeepLab:
  the 256-channel ASPP output; token decoder: the decoded patch embeddings) of the frozen previous model and
  of the current one where ``y = 0`` and ``s > 0.5``; Dark Experience Replay++ adds the MSE to the stored
  stride-16 logits (``loss_der``) and the old-class-weighted CE on the stored labels (``loss_derpp``) on one
  replay mini-batch per step drawn by :class:`~visionx.engine.hooks.BACSReplayHook`.

Deviations from the official code (each a choice, kept small):

* From step 1 on the projector is frozen (``requires_grad=False`` and eval mode: BN statistics and dropout
  fixed).  The official code only detaches its output, so its BN running statistics keep drifting during
  later tasks although nothing trains it; freezing keeps the old tasks' seen maps the function their heads
  were trained on (and the previous model and old prototypes provably unchanged).  The heads of finished
  tasks are frozen too (the official code never gives them gradients either).
* Prototype updates take the per-channel mean of each task's pixels, with classes mapped to tasks by
  ``classes_per_step``.  The official ``update_feats_prototypes`` reads the masked pixels in (B, C, H, W) order
  (``features[mask.expand(...)].view(C, -1)``), mixing channels when several images hold the task, and its
  ``label_to_task_num = rint((c + 1 - initial) / increment)`` misassigns classes unless ``increment == 1``
  (15-5: classes 16, 17 -> task 0).
* Prototypes are updated from current-task batches only.  The official ``compute_base_loss`` also runs the
  prototype update on the replayed images of the label term, which moves the prototypes of finished tasks.
* One replay mini-batch per step serves both replay terms (official: two loaders of 12 images each, the label
  loader re-reading the images from disk with fresh augmentation); random autocontrast (p 0.5) is applied to
  the stored uint8 images before normalisation (official: torchvision's ``RandomAutocontrast`` on the
  normalised float tensors, which it treats as ``[0, 1]`` images, and twice: per sample in the loader and per
  batch in ``_dark_logits``, i.e. with probability 0.75).
* The end-of-step fill runs the model in eval mode (the official fill in ``teardown`` never sets a mode).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_reduce, is_distributed
from mmengine.logging import MessageHub
from mmengine.model import BaseModule
from mmseg.utils import SampleList

from visionx.registry import MODELS
from visionx.utils.errors import ConfigError
from .segmentor import IncrementalEncoderDecoder

IGNORE_INDEX = 255


@MODELS.register_module()
class BgShiftDetector(BaseModule):
    """The backward background-shift detector (see the module docstring; official ``BgDetector``).

    Args:
        in_channels: channels of the backbone output it reads.
        num_tasks: task heads (and prototypes) to build.
        reduction: ``in_channels // reduction`` embedding channels (official 4).
        dropout: dropout after the projector's ReLU (official 0.1).
    """

    def __init__(self, in_channels: int, num_tasks: int = 1, reduction: int = 4, dropout: float = 0.1,
                 init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels < reduction or num_tasks < 1:
            raise ConfigError(f'BgShiftDetector: need in_channels >= reduction and num_tasks >= 1, got '
                              f'in_channels={in_channels}, reduction={reduction}, num_tasks={num_tasks}')
        self.embed_channels = in_channels // reduction
        self.projector = nn.Sequential(
            nn.Conv2d(in_channels, self.embed_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(self.embed_channels), nn.ReLU(inplace=True), nn.Dropout(dropout))
        self.heads = nn.ModuleList()
        self.register_buffer('prototypes', torch.zeros(0, self.embed_channels))
        self.register_buffer('counts', torch.zeros(0, dtype=torch.long))
        for _ in range(num_tasks):
            self.add_task()

    @property
    def num_tasks(self) -> int:
        return len(self.heads)

    def add_task(self) -> None:
        """Append a head (PyTorch's default conv init, as the official code) and a zero prototype / count."""
        ref = self.prototypes
        self.heads.append(nn.Conv2d(self.embed_channels, 1, 1).to(ref.device))
        self.prototypes = torch.cat([ref, ref.new_zeros(1, self.embed_channels)])
        self.counts = torch.cat([self.counts, self.counts.new_zeros(1)])

    def freeze_finished(self) -> None:
        """Freeze the projector and every head but the last (called when a step >= 1 starts)."""
        self.projector.requires_grad_(False)
        for head in self.heads[:-1]:
            head.requires_grad_(False)
        self.projector.eval()

    def embed(self, feat: torch.Tensor) -> torch.Tensor:
        """Backbone output (B, C, h, w) -> embedding ``g`` (B, C/4, h, w)."""
        return self.projector(feat)

    def seen_logits(self, g: torch.Tensor, task: int, size: Sequence[int], detach: bool = False) -> torch.Tensor:
        """Seen-before logits of task ``task``'s head, (B, 1, *size); ``detach`` cuts ``g`` and the prototype off
        the graph (official ``stop_gradients``)."""
        proto = self.prototypes[task].view(1, -1, 1, 1)
        if detach:
            g = g.detach()
        dist = (torch.sigmoid(g) - torch.sigmoid(proto)).abs()
        return F.interpolate(self.heads[task](dist), size=tuple(size), mode='bilinear', align_corners=True)

    @torch.no_grad()
    def seen_probs(self, g: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        """``max_t sigmoid(head_t)`` over all task heads, (B, *size); computed without gradients, with the heads
        as they are (1x1 convs: no train / eval difference)."""
        logits = torch.cat([self.seen_logits(g, t, size) for t in range(self.num_tasks)], dim=1)
        return torch.sigmoid(logits).amax(dim=1)

    @torch.no_grad()
    def update_prototypes(self, g: torch.Tensor, labels: torch.Tensor, class_to_task: torch.Tensor) -> None:
        """Running mean of ``g`` over the labelled foreground pixels of each task (official SDR-style update).

        Under DDP the per-task feature sums and pixel counts are summed over the ranks first, so every rank
        holds the same prototypes, the running mean over the global batch (the official code keeps one
        per process).

        Args:
            g: (B, D, h, w) embedding (detached here).
            labels: (B, H, W) labels; nearest-downsampled to (h, w) as the official code.
            class_to_task: (num_classes,) long, the step that added each class (background: -1).
        """
        g = g.detach()
        down = F.interpolate(labels[:, None].float(), size=g.shape[-2:], mode='nearest')[:, 0].long()
        valid = (down != 0) & (down != IGNORE_INDEX) & (down < class_to_task.numel())
        task = class_to_task[down[valid]]
        feats = g.permute(0, 2, 3, 1)[valid].to(self.prototypes.dtype)  # (N, D)
        sums = self.prototypes.new_zeros(self.prototypes.shape).index_add_(0, task, feats)
        n = torch.bincount(task, minlength=self.num_tasks).to(self.counts.dtype)
        if is_distributed():
            all_reduce(sums, op='sum')
            all_reduce(n, op='sum')
        upd = n > 0
        count = self.counts[upd].to(sums.dtype).unsqueeze(1)
        self.prototypes[upd] = (sums[upd] + count * self.prototypes[upd]) / (count + n[upd].to(sums.dtype)[:, None])
        self.counts += n


@MODELS.register_module()
class BACSSegmentor(IncrementalEncoderDecoder):
    """BACS on the incremental encoder-decoder (see the module docstring).

    Args:
        classes_per_step, backbone, decode_head, prev_checkpoint, new_classifier_init, neck, train_cfg,
            test_cfg, data_preprocessor, init_cfg: as :class:`IncrementalEncoderDecoder`.  The decode head must
            have ``forward_with_features`` (:class:`IncrementalASPPHead`, :class:`TokenMaskTransformerHead`).
        detector: :class:`BgShiftDetector` arguments except ``in_channels`` / ``num_tasks`` (the backbone's last
            output channels are read from ``detector_in_channels``).
        detector_in_channels: channels of the backbone's last output.
        loss_ce: ``BgAwareCrossEntropyLoss`` (plain CE at step 0).
        loss_kd: ``MaskedFeatureKDLoss`` or ``None`` (steps >= 1).
        loss_det: ``BinaryFocalLoss`` of the detector.
        loss_der: ``DERLogitLoss`` or ``None``; loss_derpp: ``DERLabelLoss`` or ``None`` (steps >= 1; either
            needs :class:`~visionx.engine.hooks.BACSReplayHook` in ``custom_hooks``).
        detector_loss_epochs: the ``max_epochs`` of the detector weight ``max(0, 1 - exp(epoch - max_epochs))``
            for iteration-based schedules (``epoch = floor(iter * E / max_iters)``); ``None`` reads ``epoch``
            and ``max_epochs`` of the epoch-based loop.
    """

    def __init__(self, classes_per_step: Sequence[int], backbone: dict, decode_head: dict,
                 detector_in_channels: int, prev_checkpoint: str | None = None,
                 detector: dict = dict(reduction=4, dropout=0.1),
                 loss_ce: dict = dict(type='BgAwareCrossEntropyLoss', loss_name='loss_ce'),
                 loss_kd: dict | None = dict(type='MaskedFeatureKDLoss', loss_name='loss_kd'),
                 loss_det: dict = dict(type='BinaryFocalLoss', loss_name='loss_det'),
                 loss_der: dict | None = dict(type='DERLogitLoss', loss_name='loss_der'),
                 loss_derpp: dict | None = dict(type='DERLabelLoss', loss_name='loss_derpp'),
                 detector_loss_epochs: int | None = None, **kwargs) -> None:
        if not hasattr(MODELS.get(decode_head['type']), 'forward_with_features'):
            raise ConfigError(f"BACSSegmentor: decode head {decode_head['type']} has no forward_with_features "
                              '(use IncrementalASPPHead or TokenMaskTransformerHead)')
        given = [k for k in ('in_channels', 'num_tasks') if k in detector]
        if given:
            raise ConfigError(f'BACSSegmentor: do not set detector.{"/".join(given)}: in_channels comes from '
                              'detector_in_channels and num_tasks from classes_per_step')
        if detector_loss_epochs is not None and detector_loss_epochs < 1:
            raise ConfigError(f'detector_loss_epochs must be >= 1 or None, got {detector_loss_epochs}')
        self._bacs_init = dict(detector=dict(detector, in_channels=detector_in_channels,
                                             num_tasks=max(len(classes_per_step) - 1, 1)),
                               loss_det=loss_det, loss_der=loss_der, loss_derpp=loss_derpp)
        self.detector_loss_epochs = detector_loss_epochs
        self.prev_checkpoint = prev_checkpoint
        super().__init__(classes_per_step=classes_per_step, backbone=backbone, decode_head=decode_head,
                         prev_checkpoint=prev_checkpoint, loss_ce=loss_ce, loss_kd=loss_kd, **kwargs)
        self._build_bacs_parts()  # step 0 (steps >= 1 built them in _start_step, before loading)
        self.replay = None  # set by BACSReplayHook at steps >= 1

    def _start_step(self, prev_checkpoint: str | None) -> None:
        # the detector and the extra losses must exist before the previous checkpoint is loaded
        self._build_bacs_parts()
        super()._start_step(prev_checkpoint)

    def _build_bacs_parts(self) -> None:
        if hasattr(self, 'detector'):
            return
        cfg = self._bacs_init
        self.detector = BgShiftDetector(**cfg['detector'])
        self.loss_det = MODELS.build(cfg['loss_det'])
        self.loss_der = MODELS.build(cfg['loss_der']) if cfg['loss_der'] is not None else None
        self.loss_derpp = MODELS.build(cfg['loss_derpp']) if cfg['loss_derpp'] is not None else None

    def grow(self, num_new: int) -> None:
        super().grow(num_new)
        self.detector.add_task()
        self.detector.freeze_finished()

    def train(self, mode: bool = True):
        super().train(mode)
        if self.step >= 1 and hasattr(self, 'detector'):
            self.detector.projector.eval()
        return self

    # helpers ---------------------------------------------------------------------------------------
    @property
    def wants_replay(self) -> bool:
        """Whether training this step needs a replay buffer (step >= 1 with a DER term)."""
        return self.step >= 1 and (self.loss_der is not None or self.loss_derpp is not None)

    def class_to_task(self, device) -> torch.Tensor:
        """(num_classes,) long: the step that added each class; background -1."""
        out = torch.cat([torch.full((n,), t, dtype=torch.long) for t, n in enumerate(self.classes_per_step)])
        out[0] = -1
        return out.to(device)

    def detector_weight(self) -> float:
        """``max(0, 1 - exp(epoch - max_epochs))`` (official ``compute_base_loss``)."""
        from visionx.models.losses.ciss.bacs import detector_loss_decay
        hub = MessageHub.get_current_instance()
        if self.detector_loss_epochs is None:
            epoch, max_epochs = hub.get_info('epoch', 0), hub.get_info('max_epochs', 1)
        else:
            max_iters = max(int(hub.get_info('max_iters', 1) or 1), 1)
            epoch = int(hub.get_info('iter', 0)) * self.detector_loss_epochs // max_iters
            max_epochs = self.detector_loss_epochs
        return float(detector_loss_decay(epoch, max_epochs))

    def forward_bacs(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) -> raw logits (B, C, h, w), decode-head features, detector embedding ``g``."""
        feats = self.extract_feat(inputs)
        logits, head_feats = self.decode_head.forward_with_features(feats)
        return logits, head_feats, self.detector.embed(feats[-1])

    # training ---------------------------------------------------------------------------------------
    def loss(self, inputs: torch.Tensor, data_samples: SampleList) -> dict:
        labels = torch.stack([s.gt_sem_seg.data.squeeze(0) for s in data_samples]).long()
        size = labels.shape[-2:]
        raw, head_feats, g = self.forward_bacs(inputs)
        logits = F.interpolate(raw, size=size, mode='bilinear', align_corners=self.align_corners)
        self.detector.update_prototypes(g, labels, self.class_to_task(labels.device))
        losses = {}
        seen = None
        if self.step >= 1:
            seen = self.detector.seen_probs(g, size)
            losses[self.loss_ce.loss_name] = self.loss_ce(logits, labels, num_old_classes=self.num_old_classes,
                                                          seen=seen)
        else:
            losses[self.loss_ce.loss_name] = self.loss_ce(logits, labels, num_old_classes=0)
        # detector: the current step's head, once every prototype has seen a pixel (official are_prototypes_ready)
        det = self.loss_det(self.detector.seen_logits(g, self.step, size, detach=self.step >= 1), labels)
        ready = bool((self.detector.counts > 0).all()) and bool((labels == 0).any())
        losses[self.loss_det.loss_name] = det * (self.detector_weight() if ready else 0.0)
        if self.step >= 1 and self.loss_kd is not None:
            with torch.no_grad():
                _, prev_feats, _ = self.prev_model.forward_bacs(inputs)
            losses[self.loss_kd.loss_name] = self.loss_kd(head_feats, prev_feats, labels, seen)
        if self.wants_replay:
            losses.update(self.replay_losses(inputs.device))
        return losses

    def replay_losses(self, device: torch.device) -> dict:
        """DER (logits, MSE) and DER++ (labels, old-class-weighted CE) on one replay mini-batch."""
        if self.replay is None:
            raise ConfigError('BACSSegmentor: steps >= 1 with loss_der / loss_derpp need the replay buffer; add '
                              "dict(type='BACSReplayHook') to custom_hooks (or set both losses to None)")
        batch = self.replay.next_batch(device=device)
        feats = self.extract_feat(batch['inputs'])
        raw = self.decode_head(feats)
        out = {}
        if self.loss_der is not None:
            mem = batch['logits']
            if mem.shape[-2:] != raw.shape[-2:]:
                raise ConfigError(f'replay buffer logits are {tuple(mem.shape[-2:])} but the model gives '
                                  f'{tuple(raw.shape[-2:])}: the buffer was written with another crop or network')
            out[self.loss_der.loss_name] = self.loss_der(raw, mem, batch['num_classes'])
        if self.loss_derpp is not None:
            labels = batch['labels']
            logits = F.interpolate(raw, size=labels.shape[-2:], mode='bilinear', align_corners=self.align_corners)
            out[self.loss_derpp.loss_name] = self.loss_derpp(logits, labels, num_old_classes=self.num_old_classes)
        return out

    @torch.no_grad()
    def buffer_entries(self, inputs: torch.Tensor, labels: torch.Tensor) -> dict:
        """What the replay buffer stores for a batch at the end of this step (official ``on_train_end``).

        Returns raw stride-16 logits, the importance ``-mean_pixels CE(weight 0 on background)`` per image
        (official: ``losses = -CE(..., weight=classes_weights, reduction='none').view(B, -1).mean(1)``) and the
        seen map of the current step's head (sigmoid probability; the official stores its logits).
        """
        raw, _, g = self.forward_bacs(inputs)
        logits = F.interpolate(raw, size=labels.shape[-2:], mode='bilinear', align_corners=self.align_corners)
        weight = torch.ones(raw.shape[1], device=raw.device)
        weight[0] = 0
        ce = F.cross_entropy(logits, labels, weight=weight, ignore_index=IGNORE_INDEX, reduction='none')
        importance = -ce.flatten(1).mean(1)
        seen = torch.sigmoid(self.detector.seen_logits(g, self.step, labels.shape[-2:]))[:, 0]
        return dict(logits=raw, importance=importance, seen=seen)


__all__ = ['BgShiftDetector', 'BACSSegmentor']
