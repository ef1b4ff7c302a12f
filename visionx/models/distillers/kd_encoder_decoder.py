"""Logit distillation between two mmseg segmentors (BPKD, WACV 2024; CWD as its baseline).

METHODS.md part B §1.3 and §7: the student is any mmseg segmentor trained as usual; a frozen teacher built
from its own config and checkpoint produces class-score maps that the distillation losses compare with the
student's decode-head logits.
"""
from __future__ import annotations

import copy
import hashlib
import os
from pathlib import Path
from typing import Sequence

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmseg.models.segmentors import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.utils import add_prefix

from visionx.registry import MODELS
from visionx.utils.checkpoint import check_state_dict_matches
from visionx.utils.errors import CheckpointMismatchError, ConfigError, DataFormatError, UserFileNotFoundError

__all__ = ['KDEncoderDecoder', 'load_teacher_cfg', 'state_digest']

_REPO_ROOT = Path(__file__).resolve().parents[3]
_PREPROCESSOR_KEYS = ('mean', 'std', 'bgr_to_rgb', 'rgb_to_bgr')


def load_teacher_cfg(teacher_cfg: dict | str) -> dict:
    """The teacher's model config: a dict, or the ``model`` of a config file.

    A relative path is looked up from the working directory, then from the VisionX repository root (so
    ``configs/bpkd/...`` works from anywhere, like mmrazor's ``cfg_path``).

    Raises:
        UserFileNotFoundError: the config file does not exist.
        ConfigError: the file has no ``model``.
    """
    if isinstance(teacher_cfg, (dict, ConfigDict)):
        return copy.deepcopy(dict(teacher_cfg))
    if not isinstance(teacher_cfg, (str, os.PathLike)):
        raise ConfigError(f'teacher_cfg must be a model config dict or a config file path, got {teacher_cfg!r}')
    path = Path(teacher_cfg)
    if not path.is_absolute() and not path.is_file() and (_REPO_ROOT / path).is_file():
        path = _REPO_ROOT / path
    if not path.is_file():
        raise UserFileNotFoundError(f'teacher config {teacher_cfg} does not exist')
    cfg = Config.fromfile(str(path))
    if 'model' not in cfg:
        raise ConfigError(f'teacher config {path} defines no model')
    return cfg.model.to_dict()


def state_digest(module: nn.Module) -> torch.Tensor:
    """SHA-256 of a module's state dict (names, dtypes, shapes and values), as a (32,) uint8 tensor."""
    h = hashlib.sha256()
    for name, value in module.state_dict().items():
        shape = value.shape
        value = value.detach().cpu().contiguous().reshape(-1)
        h.update(f'{name}:{value.dtype}:{tuple(shape)};'.encode())
        h.update(value.view(torch.uint8).numpy().tobytes() if value.numel() else b'')
    return torch.frombuffer(bytearray(h.digest()), dtype=torch.uint8).clone()


def _strip_state(obj, path: str) -> dict:
    if isinstance(obj, dict) and isinstance(obj.get('state_dict'), dict):
        obj = obj['state_dict']
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise DataFormatError(f'teacher checkpoint {path} holds no state dict of tensors')
    return {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in obj.items()}


@MODELS.register_module()
class KDEncoderDecoder(BaseSegmentor):
    """A student mmseg segmentor trained with logit distillation from a frozen teacher segmentor.

    Training (``mode='loss'``): the student's decode and auxiliary heads keep their own losses (``decode.*``,
    ``aux.*``); the teacher's decode-head logits, computed in eval mode under ``torch.no_grad`` and resized
    bilinearly to the student's logit size when they differ (e.g. a 1/8 teacher and a 1/4 or 1/32 student),
    feed every loss of ``distill_losses`` (``distill.*``).  Losses with ``needs_label = True``
    (:class:`~visionx.models.losses.BPKDEdgeLoss`, :class:`~visionx.models.losses.BPKDBodyLoss`) get the edge
    mask of the (B, H, W) ground truth, computed once per step for all losses with the same ``mask_key``.
    Test (``mode='predict'`` / ``'tensor'``): the student only.

    The teacher is frozen by construction: it is **not a registered sub-module**, so it is in none of
    ``parameters()`` (the optimizer never sees it, DDP neither syncs it nor checks it for unused parameters),
    ``train()`` never switches it out of eval mode (its BN statistics never change) and ``state_dict()``
    holds it only with ``save_teacher=True``.  ``to()`` / ``cuda()`` move it with the student.  Its weights
    are read from ``teacher_checkpoint`` in :meth:`init_weights` (which the runner calls before training,
    not before testing); the state dict carries ``teacher_digest``, the SHA-256 of the teacher weights, and
    loading a checkpoint into a model whose teacher is loaded and different (the file changed since the run
    started) raises :class:`~visionx.utils.errors.CheckpointMismatchError`, so a resumed run distils from
    the very teacher it started with.

    Args:
        student: config of the student, any mmseg segmentor with a ``decode_head``.  Its
            ``data_preprocessor`` becomes this model's.
        teacher_cfg: the teacher's model config, or the path of a config file whose ``model`` is used.  Its
            ``data_preprocessor`` (if any) must normalise like the student's: both see the same inputs.
        teacher_checkpoint: mmseg 1.x checkpoint of the teacher (``state_dict`` with the model's keys,
            optionally ``module.``-prefixed).  Required for training.
        distill_losses: configs of the distillation losses, called as ``loss(student_logits,
            teacher_logits[, edge_mask=...])``; at least one.
        save_teacher: also save the teacher's weights in checkpoints (under ``teacher.``).
        data_preprocessor: overrides the student's data preprocessor.

    Raises:
        ConfigError: no distillation loss; a student or teacher without a decode head; different numbers of
            classes; teacher and student normalise their inputs differently.
    """

    def __init__(self, student: dict, teacher_cfg: dict | str, teacher_checkpoint: str | None = None,
                 distill_losses: Sequence[dict] | dict = (), save_teacher: bool = False,
                 data_preprocessor: dict | None = None) -> None:
        student = copy.deepcopy(dict(student))
        student_pre = student.pop('data_preprocessor', None)
        teacher_model = load_teacher_cfg(teacher_cfg)
        teacher_pre = teacher_model.pop('data_preprocessor', None)
        if data_preprocessor is None:
            data_preprocessor = student_pre
        if teacher_pre is not None and data_preprocessor is not None:
            for key in _PREPROCESSOR_KEYS:
                if teacher_pre.get(key) != data_preprocessor.get(key):
                    raise ConfigError(f'teacher and student data preprocessors differ in {key!r}: '
                                      f'{teacher_pre.get(key)!r} vs {data_preprocessor.get(key)!r}; both '
                                      'networks see the same normalised inputs')
        super().__init__(data_preprocessor=data_preprocessor)
        # ConfigDict: mmseg reads train_cfg / test_cfg by attribute
        self.student = MODELS.build(ConfigDict(student))
        teacher = MODELS.build(ConfigDict(teacher_model))
        for name, net in (('student', self.student), ('teacher', teacher)):
            if getattr(net, 'decode_head', None) is None:
                raise ConfigError(f'KDEncoderDecoder: the {name} ({type(net).__name__}) has no decode_head')
        n_s, n_t = self.student.decode_head.num_classes, teacher.decode_head.num_classes
        if n_s != n_t:
            raise ConfigError(f'KDEncoderDecoder: the teacher predicts {n_t} classes, the student {n_s}; '
                              'logit distillation needs the same classes')
        teacher.requires_grad_(False)
        teacher.eval()
        object.__setattr__(self, '_teacher', teacher)  # deliberately not a registered sub-module

        if isinstance(distill_losses, dict):
            distill_losses = [distill_losses]
        if not distill_losses:
            raise ConfigError('KDEncoderDecoder needs at least one entry in distill_losses; train the student '
                              'alone with its own config')
        self.distill_losses = nn.ModuleList(MODELS.build(cfg) for cfg in distill_losses)
        self.teacher_checkpoint = None if teacher_checkpoint is None else str(teacher_checkpoint)
        self.save_teacher = bool(save_teacher)
        self.register_buffer('teacher_digest', torch.zeros(32, dtype=torch.uint8))
        self._teacher_loaded = False
        self._register_state_dict_hook(KDEncoderDecoder._add_teacher_state)
        self._register_load_state_dict_pre_hook(self._load_teacher_state, with_module=True)

    # ------------------------------------------------------------------------------------------- teacher
    @property
    def teacher(self) -> nn.Module:
        """The frozen teacher segmentor (always in eval mode, ``requires_grad=False``)."""
        return self._teacher

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self._teacher._apply(fn, *args, **kwargs)
        return self

    def train(self, mode: bool = True) -> 'KDEncoderDecoder':
        super().train(mode)
        self._teacher.eval()
        return self

    def load_teacher(self) -> None:
        """Read the teacher's weights from ``teacher_checkpoint`` (strictly) and record their digest.

        Raises:
            ConfigError: ``teacher_checkpoint`` is not set.
            UserFileNotFoundError: the file does not exist.
            DataFormatError: the file is not a checkpoint of tensors.
            CheckpointMismatchError: its keys or shapes do not fit the teacher model.
        """
        path = self.teacher_checkpoint
        if path is None:
            raise ConfigError('KDEncoderDecoder: model.teacher_checkpoint is not set; distillation needs a '
                              'trained teacher')
        if not os.path.isfile(path):
            raise UserFileNotFoundError(f'teacher checkpoint {path} does not exist')
        try:
            obj = torch.load(path, map_location='cpu')
        except Exception as exc:  # unpickling errors of every kind: not a (safe) checkpoint
            raise DataFormatError(f'teacher checkpoint {path} cannot be read as a checkpoint: {exc}') from exc
        state = _strip_state(obj, path)
        check_state_dict_matches(state, self._teacher, f'teacher checkpoint {path}',
                                 f'the teacher model ({type(self._teacher).__name__})')
        self._teacher.load_state_dict(state, strict=True)
        self._teacher.eval()
        self.teacher_digest.copy_(state_digest(self._teacher).to(self.teacher_digest.device))
        self._teacher_loaded = True

    def init_weights(self) -> None:
        """Initialise the student (its own ``init_cfg``) and load the teacher from ``teacher_checkpoint``."""
        self.student.init_weights()
        self.load_teacher()

    @staticmethod
    def _add_teacher_state(module: 'KDEncoderDecoder', destination: dict, prefix: str, local_metadata):
        if module.save_teacher:
            for key, value in module._teacher.state_dict().items():
                destination[f'{prefix}teacher.{key}'] = value.detach()
        return destination

    def _load_teacher_state(self, module, state_dict, prefix, local_metadata, strict, missing_keys,
                            unexpected_keys, error_msgs) -> None:
        teacher_prefix = f'{prefix}teacher.'
        teacher_state = {k[len(teacher_prefix):]: state_dict.pop(k) for k in list(state_dict)
                         if k.startswith(teacher_prefix)}
        digest_key = f'{prefix}teacher_digest'
        if teacher_state:
            self._teacher.load_state_dict(teacher_state, strict=True)
            self._teacher.eval()
            self._teacher_loaded = True
            state_dict[digest_key] = state_digest(self._teacher)
        elif self._teacher_loaded and digest_key in state_dict:
            saved = state_dict[digest_key].to(self.teacher_digest.device)
            if saved.any() and not torch.equal(saved, self.teacher_digest):
                raise CheckpointMismatchError(
                    f'the teacher read from {self.teacher_checkpoint} is not the teacher this checkpoint was '
                    'trained with (its weight digest differs); resume with the original teacher checkpoint')

    # ------------------------------------------------------------------------------------------- forward
    def extract_feat(self, inputs: torch.Tensor):
        """The student's features."""
        return self.student.extract_feat(inputs)

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: list) -> torch.Tensor:
        """The student's ``encode_decode``: (B, C, H, W) logits at the input size."""
        return self.student.encode_decode(inputs, batch_img_metas)

    def predict(self, inputs: torch.Tensor, data_samples: list | None = None) -> list:
        """The student's prediction (the teacher is not run)."""
        return self.student.predict(inputs, data_samples)

    def _forward(self, inputs: torch.Tensor, data_samples: list | None = None):
        """The student's raw forward."""
        return self.student._forward(inputs, data_samples)

    @torch.no_grad()
    def teacher_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, C, h_t, w_t) decode-head logits of the teacher (eval mode, no gradient)."""
        self._teacher.eval()
        return self._teacher.decode_head.forward(self._teacher.extract_feat(inputs))

    def distill(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor, data_samples: list) -> dict:
        """Distillation losses of (B, C, h, w) student logits against the teacher's (resized if needed)."""
        teacher_logits = teacher_logits.detach()
        if teacher_logits.shape[-2:] != student_logits.shape[-2:]:
            teacher_logits = resize(teacher_logits, size=student_logits.shape[-2:], mode='bilinear',
                                    align_corners=self.student.decode_head.align_corners)
        losses: dict = {}
        masks: dict = {}
        seg_label = None
        for loss_fn in self.distill_losses:
            if getattr(loss_fn, 'needs_label', False):
                if seg_label is None:
                    seg_label = self.student.decode_head._stack_batch_gt(data_samples).squeeze(1)
                key = loss_fn.mask_key
                if key not in masks:
                    with torch.no_grad():
                        masks[key] = loss_fn.masks(seg_label, student_logits.shape[1],
                                                   student_logits.shape[-2:])[0]
                value = loss_fn(student_logits, teacher_logits, edge_mask=masks[key])
            else:
                value = loss_fn(student_logits, teacher_logits)
            losses[loss_fn.loss_name] = losses.get(loss_fn.loss_name, 0) + value
        return losses

    def loss(self, inputs: torch.Tensor, data_samples: list) -> dict:
        """Student losses (``decode.*``, ``aux.*``) plus distillation losses (``distill.*``)."""
        x = self.student.extract_feat(inputs)
        head = self.student.decode_head
        student_logits = head.forward(x)
        losses = add_prefix(head.loss_by_feat(student_logits, data_samples), 'decode')
        if self.student.with_auxiliary_head:
            losses.update(self.student._auxiliary_head_forward_train(x, data_samples))
        teacher_logits = self.teacher_logits(inputs)
        losses.update(add_prefix(self.distill(student_logits, teacher_logits, data_samples), 'distill'))
        return losses
