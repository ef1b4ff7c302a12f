"""Deep-supervision segmentation on MONAI's DynUNet, as trained in TopoMortar.

Reference: J. M. Valverde et al., "TopoMortar", BMVC 2025 (arXiv 2503.03365), §3.3-3.4 of METHODS.md.
"""
from __future__ import annotations

import inspect

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.segmentors.base import BaseSegmentor

from visionx.registry import MODELS

from .soft_label import stack_soft_targets


def deep_supervision_weights(num_aux: int) -> list[float]:
    """TopoMortar's output weights ``[1, w_1, ..., w_n]`` with ``w_i = 2^-i / sum_{j=0}^{n} 2^-j``.

    The weighted sum is divided by ``n + 1`` in :class:`DeepSupervisionSegmentor` (six auxiliary outputs:
    w_1 ~ .252, ..., w_6 ~ .0079).
    """
    norm = sum(2.0 ** -j for j in range(num_aux + 1))
    return [1.0] + [2.0 ** -i / norm for i in range(1, num_aux + 1)]


@MODELS.register_module()
class DeepSupervisionSegmentor(BaseSegmentor):
    """Whole-image segmentor training every output of a deep-supervision network with one loss.

    ``L = [l(out_0) + sum_i w_i l(out_i)] / (n + 1)`` with :func:`deep_supervision_weights`.  Scheduled
    losses (those whose ``forward`` takes ``gate``) get ``gate=False`` on the auxiliary outputs, so their
    topology term acts on the main output only, as in TopoMortar.  If the data samples carry
    ``gt_skeleton`` (``TubedSkeleton`` transform) it is passed as ``skeleton=`` to losses that take it.
    If they carry self-distillation soft labels ``gt_soft_seg`` (C, H, W) (``LoadSoftLabels``), every
    output's loss gets the (B, C, H, W) float soft target instead of the hard label (see
    :func:`~visionx.models.segmentors.soft_label.stack_soft_targets`).
    Inputs (whole images or sliding-window crops) are padded to the network's size divisor at inference and
    the logits cropped back.

    Args:
        network: config of a network returning a list of logit maps (main first), e.g. ``MonaiDynUNet`` (:mod:`visionx.models.networks`).
        loss: one loss config or a list (each logged under its ``loss_name``).
        data_preprocessor: mmseg ``SegDataPreProcessor`` config.
        train_cfg: unused by this segmentor; must be None or empty.
        test_cfg: mmseg inference settings: ``mode='whole'`` (default) or ``mode='slide'`` with ``crop_size``
            and ``stride`` (h, w); slide averages the main-output logits of overlapping crops with mmseg's
            :meth:`EncoderDecoder.slide_inference` and needs a network exposing ``out_channels``.
        init_cfg: MMEngine initialisation config.
        binary_threshold: one-channel outputs predict foreground where ``output > binary_threshold``
            (0: sigmoid > 0.5; TOPO's distance regression uses 1e-5).
    """

    supports_soft_labels = True
    TEST_MODES = ('whole', 'slide')

    def __init__(self, network: dict, loss: dict | list[dict], data_preprocessor: dict | None = None,
                 train_cfg: dict | None = None, test_cfg: dict | None = None,
                 init_cfg: dict | None = None, binary_threshold: float = 0.0) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.binary_threshold = float(binary_threshold)
        self.network = MODELS.build(network)
        losses = loss if isinstance(loss, (list, tuple)) else [loss]
        self.losses = nn.ModuleList(MODELS.build(cfg) for cfg in losses)
        if train_cfg:
            raise ValueError(f'DeepSupervisionSegmentor takes no train_cfg, got {train_cfg}')
        self.train_cfg = train_cfg
        self.test_cfg = self._check_test_cfg(test_cfg)
        self.size_divisor = getattr(self.network, 'size_divisor', 1)
        self.align_corners = False  # read by BaseSegmentor.postprocess_result

    def _check_test_cfg(self, test_cfg: dict | None) -> ConfigDict:
        cfg = ConfigDict(test_cfg or {})
        cfg.setdefault('mode', 'whole')
        if cfg.mode not in self.TEST_MODES:
            raise ValueError(f'DeepSupervisionSegmentor: test_cfg.mode must be one of {self.TEST_MODES}, '
                             f'got {cfg.mode!r}')
        if cfg.mode == 'slide':
            for key in ('crop_size', 'stride'):
                value = cfg.get(key)
                if value is None or len(value) != 2 or min(value) <= 0:
                    raise ValueError(f"test_cfg.mode='slide' needs {key}=(h, w) of positive ints, got {value!r}")
            if not isinstance(getattr(self.network, 'out_channels', None), int):
                raise ValueError(f"test_cfg.mode='slide' needs a network with an int out_channels attribute; "
                                 f'{type(self.network).__name__} has none')
        return cfg

    @property
    def out_channels(self) -> int:
        """Channels of the main output (read by mmseg's slide inference)."""
        return self.network.out_channels

    # BaseSegmentor's abstract interface ---------------------------------------------------------
    def extract_feat(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        return self.network(inputs)

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: list[dict]) -> torch.Tensor:
        """Main-output logits (B, C, H, W) of whole images, padded to the size divisor and cropped back."""
        h, w = inputs.shape[-2:]
        ph, pw = (-h) % self.size_divisor, (-w) % self.size_divisor
        x = F.pad(inputs, (0, pw, 0, ph)) if ph or pw else inputs
        return self.network(x)[0][..., :h, :w]

    def inference(self, inputs: torch.Tensor, batch_img_metas: list[dict]) -> torch.Tensor:
        """Main-output logits (B, C, H, W) by ``test_cfg.mode``: ``'whole'`` image or ``'slide'`` window.

        ``'slide'`` is mmseg's :meth:`EncoderDecoder.slide_inference`: crops of ``crop_size`` every ``stride``
        (the last one flush with the border), each through :meth:`encode_decode`, logits averaged where they
        overlap.
        """
        if self.test_cfg.mode == 'slide':
            return EncoderDecoder.slide_inference(self, inputs, [dict(m) for m in batch_img_metas])
        return self.encode_decode(inputs, batch_img_metas)

    def _forward(self, inputs: torch.Tensor, data_samples=None) -> torch.Tensor:
        return self.encode_decode(inputs, [])

    def loss(self, inputs: torch.Tensor, data_samples: list) -> dict:
        outs = self.network(inputs)
        target = torch.stack([ds.gt_sem_seg.data for ds in data_samples]).squeeze(1).long()
        skeleton = None
        if data_samples and all('gt_skeleton' in ds for ds in data_samples):
            h, w = target.shape[-2:]
            # SegDataPreProcessor pads gt_sem_seg but not gt_skeleton: pad with zeros (no skeleton)
            skeleton = torch.stack([F.pad(ds.gt_skeleton.data, (0, w - ds.gt_skeleton.data.shape[-1],
                                                                0, h - ds.gt_skeleton.data.shape[-2]))
                                    for ds in data_samples]).to(inputs.device)
            if skeleton.dim() == target.dim() + 1 and skeleton.shape[1] == 1:
                skeleton = skeleton.squeeze(1)
        soft = stack_soft_targets(data_samples, target.shape[-2:])
        if soft is not None:
            target = soft.to(inputs.device)
        weights = deep_supervision_weights(len(outs) - 1)
        result: dict[str, torch.Tensor] = {}
        for loss_fn in self.losses:
            params = inspect.signature(loss_fn.forward).parameters
            total = 0.0
            for i, (w, out) in enumerate(zip(weights, outs)):
                kwargs = {}
                if 'gate' in params and i > 0:
                    kwargs['gate'] = False
                if skeleton is not None and 'skeleton' in params:
                    kwargs['skeleton'] = skeleton
                total = total + w * loss_fn(out, target, **kwargs)
            name = loss_fn.loss_name
            result[name] = result.get(name, 0) + total / len(outs)
        return result

    def predict(self, inputs: torch.Tensor, data_samples: list | None = None) -> list:
        if data_samples is not None:
            batch_img_metas = [ds.metainfo for ds in data_samples]
        else:
            batch_img_metas = [dict(ori_shape=inputs.shape[2:], img_shape=inputs.shape[2:],
                                    pad_shape=inputs.shape[2:], padding_size=[0, 0, 0, 0])] * inputs.shape[0]
        logits = self.inference(inputs, batch_img_metas)
        if logits.shape[1] == 1:
            # x > t  <=>  argmax([t, x]) (ties go to background); keeps BaseSegmentor's multi-class
            # post-processing.  t = 0 is sigmoid(x) > 0.5.
            logits = torch.cat([torch.full_like(logits, self.binary_threshold), logits], 1)
        return self.postprocess_result(logits, data_samples)
