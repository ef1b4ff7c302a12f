"""BARM: Background Adaptation with Residual Modeling (ECCV 2024, arXiv 2407.09838).

Reference: METHODS.md part B §4; official ANDYZAQ/BARM ``network/_deeplab.py`` (``DeepLabHeadBgA``),
``trainer/trainer.py`` (``init_ckpt``, ``init_optimizer``, ``train_episode``).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.aspp_head import ASPPModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.utils import SampleList
from torch.nn.modules.batchnorm import _BatchNorm

from visionx.registry import MODELS
from visionx.utils.errors import ConfigError
from ..losses.ciss.barm import bfd_loss, bga_loss, gkd_loss, pseudo_labels, tri_loss
from .heads import reject_loss_keys
from .segmentor import IncrementalEncoderDecoder


@MODELS.register_module()
class BARMHead(BaseDecodeHead):
    """DeepLabV3 ASPP + ``head_pre`` + one "ear" per incremental step + per-step heads with a background-residual
    channel (official ``DeepLabHeadBgA``).

    * ASPP: 1x1 and three atrous 3x3 branches and image pooling, ``in_channels -> channels`` each, concatenated,
      1x1 projection to ``channels``, BN, ReLU, Dropout(0.1): ``A``.
    * ``head_pre``: 3x3 conv + BN + ReLU on ``A`` -> ``F_0``; ``heads[0]``: 1x1 -> ``classes_per_step[0]``
      channels (background first).
    * step t >= 1: ``ears[str(t)]``: 3x3 conv + BN + ReLU on ``A`` -> ``F_t``; ``heads[t]``: 1x1 ->
      ``1 + classes_per_step[t]`` channels, channel 0 the step's background residual ``r_t``.
    * Background: training ``bg = h_0[bg].detach() + sum_{t<T} min(r_t, 0).detach() + r_T``; evaluation
      ``bg = h_0[bg] + sum_{t<=T} min(r_t, 0)`` (residuals only lower the background).  Logits ``[bg, fg(h_0),
      fg(h_1), ...]``.

    Args:
        classes_per_step: model classes added per step (step 0 counts background).
        in_channels: backbone channels (2048).
        channels: ASPP / head width (256).
        dilations: the three atrous rates ((6, 12, 18) at output stride 16).
        dropout_ratio: dropout after the ASPP projection (0.1).
        norm_cfg, act_cfg, conv_cfg, align_corners, in_index: as mmseg heads.
    """

    def __init__(self, classes_per_step, in_channels: int, channels: int = 256, dilations=(6, 12, 18),
                 dropout_ratio: float = 0.1, **kwargs) -> None:
        reject_loss_keys('BARMHead', kwargs)
        if len(dilations) != 3:
            raise ConfigError(f'BARMHead takes three atrous rates, got {dilations}')
        if kwargs.get('norm_cfg') is None:
            raise ConfigError('BARMHead needs a norm_cfg (the official head uses BatchNorm after every conv)')
        classes_per_step = [int(c) for c in classes_per_step]
        super().__init__(in_channels, channels, num_classes=classes_per_step[0], dropout_ratio=0.0,
                         init_cfg=None, **kwargs)
        del self.conv_seg  # the per-step heads replace mmseg's single classifier
        cfg = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.aspp_convs = ASPPModule((1, *dilations), in_channels, channels, **cfg)
        self.image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), ConvModule(in_channels, channels, 1, **cfg))
        self.project = ConvModule(5 * channels, channels, 1, **cfg)
        self.aspp_dropout = nn.Dropout(dropout_ratio)
        self.head_pre = ConvModule(channels, channels, 3, padding=1, **cfg)
        self.ears = nn.ModuleDict()
        self.heads = nn.ModuleList([nn.Conv2d(channels, classes_per_step[0], 1)])
        self._init_classifier()
        for n in classes_per_step[1:]:
            self.add_step(n)

    def _init_classifier(self) -> None:
        """Official ``_init_weight``: Kaiming-normal convolutions, BN weight 1 / bias 0."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, _BatchNorm):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def init_weights(self) -> None:
        self._init_classifier()
        self._is_init = True

    @property
    def classes_per_step(self) -> list[int]:
        return [self.heads[0].out_channels] + [h.out_channels - 1 for h in self.heads[1:]]

    def add_step(self, num_new: int) -> None:
        """A new ear (conv weights and BN affine copied from ``head_pre``, as official ``init_ckpt`` does; its
        BN running statistics keep their defaults) and a Kaiming-initialised head of ``1 + num_new`` channels."""
        if not isinstance(num_new, int) or num_new < 1:
            raise ConfigError(f'a step adds at least one class, got {num_new!r}')
        step = len(self.heads)
        ear = ConvModule(self.channels, self.channels, 3, padding=1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                         act_cfg=self.act_cfg)
        head = nn.Conv2d(self.channels, 1 + num_new, 1)
        nn.init.kaiming_normal_(head.weight)
        device = self.heads[0].weight.device
        with torch.no_grad():
            ear.conv.weight.copy_(self.head_pre.conv.weight)
            ear.norm.weight.copy_(self.head_pre.norm.weight)
            ear.norm.bias.copy_(self.head_pre.norm.bias)
        self.ears[str(step)] = ear.to(device)
        self.heads.append(head.to(device))
        self.num_classes = self.out_channels = sum(self.classes_per_step)

    def forward_all(self, inputs) -> tuple[torch.Tensor, dict]:
        """Logits (B, C, h, w) and ``dict(heads=[raw per-step heads], feats=[F_0, F_1, ...], aspp=A)``."""
        x = self._transform_inputs(inputs)
        pooled = resize(self.image_pool(x), size=x.shape[2:], mode='bilinear', align_corners=self.align_corners)
        a = self.aspp_dropout(self.project(torch.cat([*self.aspp_convs(x), pooled], dim=1)))
        feats = [self.head_pre(a)]
        heads = [self.heads[0](feats[0])]
        for t in range(1, len(self.heads)):
            feats.append(self.ears[str(t)](a))
            heads.append(self.heads[t](feats[-1]))
        if len(heads) == 1:
            logits = heads[0]
        else:
            if self.training:
                bg = heads[0][:, :1].detach() + heads[-1][:, :1]
                for h in heads[1:-1]:
                    bg = bg + torch.clamp(h[:, :1], max=0).detach()
            else:
                bg = heads[0][:, :1]
                for h in heads[1:]:
                    bg = bg + torch.clamp(h[:, :1], max=0)
            logits = torch.cat([bg, heads[0][:, 1:], *(h[:, 1:] for h in heads[1:])], dim=1)
        return logits, dict(heads=heads, feats=feats, aspp=a)

    def forward(self, inputs) -> torch.Tensor:
        return self.forward_all(inputs)[0]


@MODELS.register_module()
class BARMSegmentor(IncrementalEncoderDecoder):
    """BARM on the incremental segmentor (METHODS.md B§4.2).

    Step 0: multi-label BCE on the labels.  Step T >= 1 (``L = L_bce + 5 L_tri + 4 L_bfd + 1 L_gkd + 1 L_bga``):

    * pseudo-labels from the frozen previous model (``sigma >= pseudo_threshold`` on background pixels);
    * ``L_bce``: multi-label BCE of ``[bg, stopgrad(old fg), new fg]`` against them (label resolution);
    * ``L_bga``, ``L_tri`` on the current residual, ``L_bfd`` on ``F_0`` and the previous ears, ``L_gkd`` on
      the previous heads, at feature resolution with the label masks nearest-resized (``P``: new-class
      pixels, ``N``: background pixels of the *current* labels).

    ``freeze_norm`` (official ``--bn_freeze`` at steps >= 1, with the dropout of the current model frozen too as
    in the official multi-GPU runs): every BN and dropout layer stays in eval mode from step 1 on.
    Prediction: argmax of the logits, i.e. of their sigmoids.

    Args:
        pseudo_threshold: 0.7.
        loss_weights: ``dict(tri=5, bfd=4, gkd=1, bga=1)`` (official ``co_bg, co_tn, co_p, co_oc``).
        freeze_norm: see above.
        **kwargs: :class:`IncrementalEncoderDecoder` arguments (``loss_ce`` = ``MultiLabelBCELoss``).
    """

    def __init__(self, *args, pseudo_threshold: float = 0.7, loss_weights: dict | None = None,
                 freeze_norm: bool = True, **kwargs) -> None:
        kwargs.setdefault('loss_ce', dict(type='MultiLabelBCELoss', loss_name='loss_bce'))
        if kwargs.get('loss_kd') is not None:
            raise ConfigError('BARMSegmentor has its own distillation terms (loss_weights); remove loss_kd')
        if kwargs.get('new_classifier_init', 'normal') != 'normal':
            raise ConfigError('BARMSegmentor initialises the new ear from head_pre and the new head Kaiming-normal; '
                              'remove new_classifier_init')
        weights = dict(tri=5.0, bfd=4.0, gkd=1.0, bga=1.0)
        unknown = set(loss_weights or {}) - set(weights)
        if unknown:
            raise ConfigError(f'BARMSegmentor loss_weights: unknown terms {sorted(unknown)}; known {sorted(weights)}')
        weights.update(loss_weights or {})
        self.pseudo_threshold, self.loss_weights, self.freeze_norm = pseudo_threshold, weights, freeze_norm
        super().__init__(*args, **kwargs)

    def grow(self, num_new: int) -> None:
        self.decode_head.add_step(num_new)
        self.num_classes = self.out_channels = self.decode_head.num_classes

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.freeze_norm and self.step >= 1:
            for m in self.modules():
                if isinstance(m, (_BatchNorm, nn.Dropout, nn.Dropout2d)):
                    m.eval()
        return self

    def loss(self, inputs: torch.Tensor, data_samples: SampleList) -> dict:
        labels = torch.stack([s.gt_sem_seg.data.squeeze(0) for s in data_samples]).long()
        size = labels.shape[-2:]
        logits, extra = self.decode_head.forward_all(self.extract_feat(inputs))
        up = F.interpolate(logits, size=size, mode='bilinear', align_corners=self.align_corners)
        if self.prev_model is None:
            return {self.loss_ce.loss_name: self.loss_ce(up, labels)}
        with torch.no_grad():
            prev_logits, prev = self.prev_model.decode_head.forward_all(self.prev_model.extract_feat(inputs))
            prev_up = F.interpolate(prev_logits, size=size, mode='bilinear', align_corners=self.align_corners)
        targets = pseudo_labels(prev_up, labels, self.pseudo_threshold)
        n_new = self.classes_per_step[-1]
        adapted = torch.cat([up[:, :1], up[:, 1:-n_new].detach(), up[:, -n_new:]], dim=1)
        feat_size = extra['feats'][0].shape[-2:]
        positive = F.interpolate(((labels != 0) & (labels != 255)).float().unsqueeze(1), size=feat_size)
        negative = F.interpolate((labels == 0).float().unsqueeze(1), size=feat_size)
        residual = extra['heads'][-1][:, :1]
        w = self.loss_weights
        return {
            self.loss_ce.loss_name: self.loss_ce(adapted, targets),
            'loss_tri': w['tri'] * tri_loss(residual, negative),
            'loss_bfd': w['bfd'] * bfd_loss(extra['feats'], prev['feats'], negative),
            'loss_gkd': w['gkd'] * gkd_loss(extra['heads'], prev['heads']),
            'loss_bga': w['bga'] * bga_loss(residual, positive),
        }
