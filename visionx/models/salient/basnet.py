"""BASNet: Boundary-Aware Segmentation Network (Qin et al., CVPR 2019; extended arXiv 2101.04704).

A predict module (ResNet-34 encoder with a 3x3 stride-1 stem and two extra 512-channel stages, a dilated
bridge, a six-stage decoder with seven side outputs) followed by a residual refinement module (RRM).

Why an mmseg ``BaseSegmentor`` rather than a plain ``BaseModel``: it gives the standard
``SegDataPreProcessor`` / ``SegDataSample`` data flow, so mmseg transforms, visualiser, ``tools/test.py
--show-dir`` and metrics work unchanged, while the network itself stays one readable module (mmseg's
``BaseDecodeHead`` would add a ``conv_seg`` and break the official parameter count of 87,060,360).

Deviations from the official code (outputs are identical where the input side is a multiple of 32):

* Decoder upsampling resizes to the skip feature's size rather than ``scale_factor=2``, and side outputs
  resize to the input size rather than by a fixed factor, so inputs whose side is not a multiple of 32
  also work (the official model raises a concat size error there).
* Parameter names are ours (``tools/model_converters/basnet_official_to_visionx.py`` maps the official
  ones); the ResNet-34 stages keep torchvision's names so an ImageNet checkpoint loads directly.
"""
from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.structures import PixelData
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.structures import SegDataSample
from torch import Tensor

from visionx.registry import MODELS

__all__ = ['BasicBlock', 'BASNetEncoder', 'BASNetDecoder', 'RefineUNet', 'BASNet', 'fuse_conv_bn_']


def fuse_conv_bn_(module: nn.Module) -> nn.Module:
    """Fold every BatchNorm2d that directly follows a Conv2d (in registration order) into the conv.

    In place, for inference only (uses the BN running statistics); the BN becomes ``nn.Identity``.
    Same outputs up to float rounding, about a quarter fewer kernels in BASNet.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    prev_name, prev = None, None
    for name, child in list(module.named_children()):
        if isinstance(child, nn.BatchNorm2d) and isinstance(prev, nn.Conv2d):
            setattr(module, prev_name, fuse_conv_bn_eval(prev.eval(), child.eval()))
            setattr(module, name, nn.Identity())
            prev_name, prev = None, None
            continue
        fuse_conv_bn_(child)
        prev_name, prev = name, child
    return module


def _conv_bn_relu(in_ch: int, out_ch: int, dilation: int = 1) -> nn.Sequential:
    """Conv3x3 (bias) + BN + ReLU, named ``conv`` / ``bn`` like mmcv's ConvModule."""
    return nn.Sequential(OrderedDict(
        conv=nn.Conv2d(in_ch, out_ch, 3, padding=dilation, dilation=dilation),
        bn=nn.BatchNorm2d(out_ch), relu=nn.ReLU(inplace=True)))


class BasicBlock(nn.Module):
    """ResNet basic block with torchvision parameter names (``conv1, bn1, conv2, bn2, downsample.{0,1}``).

    Args:
        in_ch: Input channels.
        out_ch: Output channels.
        stride: Stride of the first conv (and of the 1x1 projection when shapes change).
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.downsample = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False),
                                            nn.BatchNorm2d(out_ch))

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


def _res_layer(in_ch: int, out_ch: int, blocks: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(BasicBlock(in_ch, out_ch, stride),
                         *[BasicBlock(out_ch, out_ch) for _ in range(blocks - 1)])


@MODELS.register_module()
class BASNetEncoder(BaseModule):
    """ResNet-34 encoder of BASNet (3x3 stride-1 stem, no max-pool) + two 512-channel stages.

    ``layer1``-``layer4`` carry torchvision ``resnet34`` names.  With
    ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` pointing at a local torchvision checkpoint
    (``resnet34-b627a593.pth`` / ``resnet34-333f7ec4.pth``) those stages start from ImageNet weights; a
    missing file gives a warning and random init (nothing is ever downloaded).

    Args:
        in_channels: Input image channels.
        init_cfg: ``Pretrained`` config (see above) or any mmengine init config.

    Shapes (input (B, 3, H, W)): returns six features E1..E6 of
    (B, 64, H, W), (B, 128, H/2, W/2), (B, 256, H/4, W/4), (B, 512, H/8, W/8), (B, 512, H/16, W/16),
    (B, 512, H/32, W/32) (ceil division for odd sizes).
    """

    def __init__(self, in_channels: int = 3, init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=None)
        self._pretrained_cfg = init_cfg
        self.stem = _conv_bn_relu(in_channels, 64)
        self.layer1 = _res_layer(64, 64, 3)
        self.layer2 = _res_layer(64, 128, 4, stride=2)
        self.layer3 = _res_layer(128, 256, 6, stride=2)
        self.layer4 = _res_layer(256, 512, 3, stride=2)
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.layer5 = _res_layer(512, 512, 3)
        self.layer6 = _res_layer(512, 512, 3)

    def init_weights(self) -> None:
        """Load the ImageNet ResNet-34 stages from a local torchvision checkpoint, if configured."""
        cfg = self._pretrained_cfg
        if not cfg:
            return
        if cfg.get('type') != 'Pretrained':
            self.init_cfg = cfg
            super().init_weights()
            return
        path = os.path.expanduser(str(cfg.get('checkpoint', '')))
        if not os.path.isfile(path):
            warnings.warn(f'BASNetEncoder: ImageNet checkpoint {path!r} not found; the ResNet-34 stages '
                          'are trained from scratch (put torchvision resnet34 weights there to use them)')
            return
        state = torch.load(path, map_location='cpu', weights_only=True)
        state = state.get('state_dict', state)
        prefix = cfg.get('prefix', '')
        own = {k[len(prefix):]: v for k, v in state.items()
               if k.startswith(prefix) and k[len(prefix):].split('.')[0] in ('layer1', 'layer2', 'layer3',
                                                                            'layer4')}
        if not own:
            raise ValueError(f'{path} holds no torchvision resnet34 keys (layer1..layer4.*); expected a '
                             'torchvision resnet34 state dict')
        missing, unexpected = self.load_state_dict(own, strict=False)
        missing = [k for k in missing if k.split('.')[0] in ('layer1', 'layer2', 'layer3', 'layer4')]
        if missing or unexpected:
            raise ValueError(f'{path} does not match ResNet-34: missing {missing[:5]}, '
                             f'unexpected {unexpected[:5]}')

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.stem(x)
        e1 = self.layer1(x)
        e2 = self.layer2(e1)
        e3 = self.layer3(e2)
        e4 = self.layer4(e3)
        e5 = self.layer5(self.pool(e4))
        e6 = self.layer6(self.pool(e5))
        return [e1, e2, e3, e4, e5, e6]


@MODELS.register_module()
class BASNetDecoder(BaseModule):
    """Dilated bridge, six-stage decoder and seven side outputs of BASNet's predict module.

    Stages (concat of the upsampled previous feature and the encoder feature, then three Conv3x3+BN+ReLU):
    D6 (1024 -> 512, 512 dil 2, 512 dil 2), D5 (1024 -> 512, 512, 512), D4 (1024 -> 512, 512, 256),
    D3 (512 -> 256, 256, 128), D2 (256 -> 128, 128, 64), D1 (128 -> 64, 64, 64).

    Returns:
        ``(d1_feature, side_logits)``: side logits of the bridge, D6, ..., D1, each (B, 1, h, w) at its
        stage's own resolution (upsampled by :class:`BASNet`).
    """

    # (in channels, out channels of the three convs, dilations) for D6 .. D1
    STAGES = ((1024, (512, 512, 512), (1, 2, 2)), (1024, (512, 512, 512), (1, 1, 1)),
              (1024, (512, 512, 256), (1, 1, 1)), (512, (256, 256, 128), (1, 1, 1)),
              (256, (128, 128, 64), (1, 1, 1)), (128, (64, 64, 64), (1, 1, 1)))

    def __init__(self, init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.bridge = nn.Sequential(*[_conv_bn_relu(512, 512, dilation=2) for _ in range(3)])
        stages = []
        for in_ch, outs, dils in self.STAGES:
            convs, prev = [], in_ch
            for out_ch, dil in zip(outs, dils):
                convs.append(_conv_bn_relu(prev, out_ch, dilation=dil))
                prev = out_ch
            stages.append(nn.Sequential(*convs))
        self.stages = nn.ModuleList(stages)
        side_in = [512] + [outs[-1] for _, outs, _ in self.STAGES]
        self.side_convs = nn.ModuleList(nn.Conv2d(c, 1, 3, padding=1) for c in side_in)

    def forward(self, feats: Sequence[Tensor]) -> tuple[Tensor, list[Tensor]]:
        e1, e2, e3, e4, e5, e6 = feats
        x = self.bridge(e6)
        sides = [self.side_convs[0](x)]
        skips = [e6, e5, e4, e3, e2, e1]
        for i, (stage, skip) in enumerate(zip(self.stages, skips)):
            if x.shape[-2:] != skip.shape[-2:]:
                x = F.interpolate(x, size=skip.shape[-2:], mode='bilinear', align_corners=False)
            x = stage(torch.cat([x, skip], dim=1))
            sides.append(self.side_convs[i + 1](x))
        return x, sides


@MODELS.register_module()
class RefineUNet(BaseModule):
    """Residual refinement module (``RefUnet(1, 64)``): a small U-Net that predicts a residual logit.

    Conv3x3(1 -> 64); encoder 4 x [Conv3x3+BN+ReLU, MaxPool2 (ceil)]; bottleneck Conv3x3+BN+ReLU;
    decoder 4 x [bilinear upsample, concat skip (128), Conv3x3+BN+ReLU]; Conv3x3(64 -> 1).

    Args:
        in_channels: Channels of the coarse map (1).
        mid_channels: Width (64).

    Shapes: (B, 1, H, W) coarse logit -> (B, 1, H, W) refined logit = coarse + residual.
    """

    def __init__(self, in_channels: int = 1, mid_channels: int = 64, init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.conv_in = nn.Conv2d(in_channels, mid_channels, 3, padding=1)
        self.enc = nn.ModuleList(_conv_bn_relu(mid_channels, 64) if i == 0 else _conv_bn_relu(64, 64)
                                 for i in range(4))
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.bottleneck = _conv_bn_relu(64, 64)
        self.dec = nn.ModuleList(_conv_bn_relu(128, 64) for _ in range(4))
        self.conv_out = nn.Conv2d(64, 1, 3, padding=1)

    def forward(self, coarse: Tensor) -> Tensor:
        x = self.conv_in(coarse)
        skips = []
        for i, enc in enumerate(self.enc):
            x = enc(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for dec, skip in zip(self.dec, reversed(skips)):
            x = F.interpolate(x, size=skip.shape[-2:], mode='bilinear', align_corners=False)
            x = dec(torch.cat([x, skip], dim=1))
        return coarse + self.conv_out(x)


@MODELS.register_module()
class BASNet(BaseSegmentor):
    """BASNet segmentor: eight logit maps (refined, D1, D2, D3, D4, D5, D6, bridge).

    Args:
        data_preprocessor: ``SegDataPreProcessor`` config (ImageNet mean/std, RGB).
        encoder: Encoder config (``BASNetEncoder``; pass ``init_cfg`` for ImageNet weights).
        loss: Loss config applied to the list of eight logits (``BASNetHybridLoss``).
        threshold: Probability threshold of ``pred_sem_seg``.
        init_cfg: mmengine init config of the whole model.

    ``mode='tensor'`` returns the list of eight (B, 1, H, W) logits; ``predict`` returns per image
    ``seg_logits`` = refined *probability* (mmseg's convention for one-channel models) resized to the
    original image size and ``pred_sem_seg`` = probability > threshold.
    """

    def __init__(self, data_preprocessor: dict | None = None, encoder: dict | None = None,
                 loss: dict | None = None, threshold: float = 0.5, align_corners: bool = False,
                 init_cfg: dict | None = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.encoder = MODELS.build(encoder or dict(type='BASNetEncoder'))
        self.decoder = BASNetDecoder()
        self.refine = RefineUNet(1, 64)
        self.loss_module = MODELS.build(loss or dict(type='BASNetHybridLoss'))
        self.threshold = threshold
        self.align_corners = align_corners

    def extract_feat(self, inputs: Tensor) -> list[Tensor]:
        return self.encoder(inputs)

    def forward_logits(self, inputs: Tensor) -> list[Tensor]:
        """(B, 3, H, W) normalised images -> eight (B, 1, H, W) logits, refined first."""
        size = inputs.shape[-2:]
        _, sides = self.decoder(self.extract_feat(inputs))
        sides = [s if s.shape[-2:] == size else
                 F.interpolate(s, size=size, mode='bilinear', align_corners=False) for s in sides]
        refined = self.refine(sides[-1])
        # official order: refined, D1, D2, ..., D6, bridge
        return [refined, *reversed(sides)]

    def encode_decode(self, inputs: Tensor, batch_data_samples=None) -> Tensor:
        return self.forward_logits(inputs)[0]

    def _forward(self, inputs: Tensor, data_samples=None) -> list[Tensor]:
        return self.forward_logits(inputs)

    def loss(self, inputs: Tensor, data_samples: list[SegDataSample]) -> dict:
        logits = self.forward_logits(inputs)
        target = torch.stack([ds.gt_sem_seg.data for ds in data_samples]).to(logits[0])
        loss = self.loss_module(logits, target)
        return {self.loss_module.loss_name: loss}

    def predict(self, inputs: Tensor, data_samples: list[SegDataSample] | None = None) -> list:
        logits = self.forward_logits(inputs)[0]
        if data_samples is None:
            data_samples = [SegDataSample(metainfo=dict(ori_shape=inputs.shape[-2:], img_shape=inputs.shape[-2:]))
                            for _ in range(inputs.shape[0])]
        for i, ds in enumerate(data_samples):
            logit = logits[i:i + 1]
            ori_shape = ds.metainfo.get('ori_shape', logit.shape[-2:])[:2]
            if tuple(logit.shape[-2:]) != tuple(ori_shape):
                logit = F.interpolate(logit, size=tuple(ori_shape), mode='bilinear',
                                      align_corners=self.align_corners)
            prob = logit[0].sigmoid()
            ds.set_data({'seg_logits': PixelData(data=prob),
                         'pred_sem_seg': PixelData(data=(prob > self.threshold).to(prob))})
        return data_samples
