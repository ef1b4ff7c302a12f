"""BACS's transformer decoder ("TranSeg"): class tokens decoded jointly with the patches, logits by cosine
similarity, and one more class token per new class.

Reference: METHODS.md part B §5.1 ("Transformer decoder variant (TranSeg)"); official
``networks/transeg.py`` (``TransformerHead``), ``networks/layers.py`` (``Block``), ``networks/utils.py``
(``init_weights``), ``learner/transformerlearner.py`` (growth) and
``conf/experiments/network/deep_lab_transformer.yaml`` (d_model 256, 8 heads, FFN 2048, 2 layers).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from visionx.registry import MODELS
from visionx.utils.errors import ConfigError

NEW_TOKEN_INITS = ('mean', 'random', 'background')
_REJECTED = {
    'num_classes': 'set classes_per_step (num_classes is their sum)',
    'out_channels': 'the logits have one channel per class',
    'loss_decode': 'the incremental segmentor computes the losses (they need the previous model)',
    'channels': 'd_model sets the decoder width',
    'dropout_ratio': 'the official decoder has no dropout before the logits (and there is no conv_seg)',
    'ignore_index': 'the incremental segmentor computes the losses (ignore label 255); the head never uses it',
    'sampler': 'the incremental segmentor computes the losses; the head never uses it',
    'threshold': 'the incremental segmentor computes the losses; the head never uses it',
    'conv_cfg': 'the decoder has no mmcv ConvModule (a plain 1x1 embedding conv, transformer blocks)',
    'norm_cfg': 'the decoder normalises with LayerNorm, fixed as in the official code',
    'act_cfg': 'the decoder uses GELU, fixed as in the official code',
}


def _pair(value, name: str) -> tuple[int, int]:
    grid = (value, value) if isinstance(value, int) else tuple(value)
    if len(grid) != 2 or not all(isinstance(v, int) and v >= 1 for v in grid):
        raise ConfigError(f'TokenMaskTransformerHead: {name} must be a positive int or a pair of them, '
                          f'got {value!r}')
    return grid


@MODELS.register_module()
class TokenMaskTransformerHead(BaseDecodeHead):
    """Transformer decoder over patch and class tokens; logits = layer-normalised cosine masks.

    On the last backbone feature map ``x`` (B, in_channels, h, w):

    1. ``feature_embedding`` (1x1 conv, in_channels -> d_model) + learnable positional embedding
       (1, d_model, *pos_grid); flattened to (B, h*w, d_model);
    2. the class tokens (1, C, d_model) are appended -> (B, h*w + C, d_model);
    3. ``num_layers`` pre-norm transformer blocks (torch ``TransformerEncoderLayer``, GELU, dropout 0), then
       ``decoder_norm`` (LayerNorm);
    4. split into patches (B, h*w, d) and classes (B, C, d); right-multiply by ``proj_patch`` /
       ``proj_classes`` (d x d); L2-normalise; cosine masks = patches @ classes^T (B, h*w, C);
    5. ``mask_norm`` (LayerNorm over the C classes of each pixel) -> logits (B, C, h, w).

    Growth (:meth:`add_step`, official ``TransformerLearner.on_init_start``) appends ``num_new`` class tokens
    and extends ``mask_norm`` by ``num_new`` entries (old γ/β copied):

    * ``'mean'`` (official default): new tokens = mean of all current tokens (background included);
      new γ = mean(old γ); new β = mean(old γ) if ``mask_norm_beta_quirk`` else mean(old β);
    * ``'background'``: new tokens = copies of token 0; new γ/β = old γ[0]/β[0];
    * ``'random'``: new tokens trunc-normal (std 0.02); new γ/β = 1/0 (fresh LayerNorm values).

    Facts and quirks of the official code, and the choices made here:

    * **mask_norm β quirk** (official ``'mean'`` branch): the new β entries are set to the mean of the old
      **γ**, not of the old β.  ``mask_norm_beta_quirk=True`` (default) reproduces it for parity; ``False``
      uses mean(old β).  Since γ starts at 1, the quirk gives the new classes a logit offset of about +1.
    * **Growth does not preserve the old outputs.**  Class tokens and patches attend to each other in every
      block, so new tokens change the decoded patches (:meth:`forward_features`) and the old classes' cosine
      masks; besides, ``mask_norm`` normalises over all C classes, so its mean / variance change with C.
      With ``num_layers=0`` only the second effect remains (old masks unchanged).  Hence the features
      distilled by BACS differ between the previous and the current model already at the start of a step.
    * **Positional embedding size.**  Official: fixed ``crop / 16`` grid, added without resizing (it fails on
      any other feature size; its test pipeline always crops 512).  Here it is resized bilinearly
      (``align_corners=False``) when the feature map has another size (slide / whole inference).
    * **Distilled features.**  The official ``attentions`` entry of TranSeg is the patch tokens after
      ``decoder_norm``, before the projection and the L2 normalisation; :meth:`forward_features` returns
      exactly that, reshaped to (B, d_model, h, w).
    * **Initialisation** (official, done here in ``__init__``; ``init_cfg`` defaults to ``None`` so the
      runner's ``init_weights`` keeps it): every Linear (q/k/v, out, FFN) trunc-normal std 0.02 (cut at ±2),
      bias 0; every LayerNorm 1/0; class tokens trunc-normal 0.02; ``pos_embed`` standard normal (std 1, not
      0.02); ``proj_patch`` / ``proj_classes`` ``d_model**-0.5 * N(0, 1)``; ``feature_embedding`` keeps
      PyTorch's default conv init.
    * **Block.**  Official ``Block`` = timm ViT block: pre-norm, fused qkv Linear with bias, GELU (exact),
      residuals; torch's ``TransformerEncoderLayer(norm_first=True, activation='gelu')`` computes the same
      (``in_proj_weight`` = official ``qkv.weight``, ``out_proj`` = ``proj``, ``linear1/2`` = ``fc1/fc2``).
    * **L2 normalisation** uses ``F.normalize`` (eps 1e-12); the official code divides by the norm with no
      eps (identical unless a vector is 0).
    * Like the official code, :meth:`add_step` replaces the ``class_tokens`` Parameter and the ``mask_norm``
      module: build the optimizer after growing (``IncrementalEncoderDecoder`` grows in ``__init__``).
    * mmseg's ``conv_seg`` and ``dropout`` are removed (unused parameters break DDP); :meth:`cls_seg` raises.
      Logits are at feature resolution (stride 16), as the official ``return_sem_logits``.

    Args:
        classes_per_step: output channels of every step so far (step 0 counts background); the number of
            classes C is their sum (at least 2: ``mask_norm`` over one class is constant).
        in_channels: channels of the backbone feature map (2048 for ResNet-101).
        d_model: decoder width (256).
        num_heads: attention heads (8); must divide ``d_model``.
        ffn_channels: hidden width of the feed-forward layers (2048).
        num_layers: transformer blocks (2); 0 keeps only ``decoder_norm``.
        pos_grid: size (h, w) of the learnable positional embedding, ``crop / 16`` (32 for crop 512).
        new_token_init: ``'mean'``, ``'random'`` or ``'background'`` (see above).
        mask_norm_beta_quirk: reproduce the official β initialisation of ``'mean'`` (see above).
        in_index: which backbone output to decode (-1: the last).
        init_cfg: mmengine init config applied by the runner on top of the official init (default none).
        **kwargs: other ``BaseDecodeHead`` arguments (``align_corners``, ``input_transform`` None or
            ``'resize_concat'``).  ``num_classes``, ``out_channels``, ``loss_decode``, ``channels``,
            ``dropout_ratio``, the loss-only ``ignore_index`` / ``sampler`` / ``threshold`` and the unused
            ``conv_cfg`` / ``norm_cfg`` / ``act_cfg`` are rejected.

    Raises:
        ConfigError: an argument above is missing, rejected or out of range.
    """

    def __init__(self, classes_per_step: Sequence[int], in_channels: int, d_model: int = 256,
                 num_heads: int = 8, ffn_channels: int = 2048, num_layers: int = 2,
                 pos_grid: int | Sequence[int] = (32, 32), new_token_init: str = 'mean',
                 mask_norm_beta_quirk: bool = True, in_index: int = -1, init_cfg: dict | None = None,
                 **kwargs) -> None:
        for key, why in _REJECTED.items():
            if key in kwargs:
                raise ConfigError(f'TokenMaskTransformerHead: do not set {key}: {why}')
        try:
            classes_per_step = [int(c) for c in classes_per_step]
        except (TypeError, ValueError):
            raise ConfigError(f'TokenMaskTransformerHead: classes_per_step must be a list of counts, '
                              f'got {classes_per_step!r}') from None
        if not classes_per_step or min(classes_per_step) < 1 or sum(classes_per_step) < 2:
            raise ConfigError('TokenMaskTransformerHead: classes_per_step must be positive counts summing to at '
                              f'least 2 (mask_norm over one class is constant), got {classes_per_step}')
        for name, value, low in (('d_model', d_model, 1), ('num_heads', num_heads, 1),
                                 ('ffn_channels', ffn_channels, 1), ('num_layers', num_layers, 0)):
            if not isinstance(value, int) or value < low:
                raise ConfigError(f'TokenMaskTransformerHead: {name} must be an int >= {low}, got {value!r}')
        if d_model % num_heads:
            raise ConfigError(f'TokenMaskTransformerHead: num_heads ({num_heads}) must divide d_model ({d_model})')
        if new_token_init not in NEW_TOKEN_INITS:
            raise ConfigError(f'TokenMaskTransformerHead: new_token_init must be one of {NEW_TOKEN_INITS}, '
                              f'got {new_token_init!r}')
        if kwargs.get('input_transform') not in (None, 'resize_concat'):
            raise ConfigError("TokenMaskTransformerHead: input_transform must be None or 'resize_concat' "
                              f"(one feature map is decoded), got {kwargs['input_transform']!r}")
        pos_grid = _pair(pos_grid, 'pos_grid')
        super().__init__(in_channels=in_channels, channels=d_model, num_classes=sum(classes_per_step),
                         dropout_ratio=0.0, in_index=in_index, init_cfg=init_cfg, **kwargs)
        del self.conv_seg  # cosine masks replace the 1x1 classifier; an unused conv would break DDP
        self.classes_per_step = classes_per_step
        self.d_model, self.pos_grid = d_model, pos_grid
        self.new_token_init, self.mask_norm_beta_quirk = new_token_init, mask_norm_beta_quirk

        self.feature_embedding = nn.Conv2d(self.in_channels, d_model, kernel_size=1)
        self.pos_embed = nn.Parameter(torch.randn(1, d_model, *pos_grid))
        self.blocks = nn.ModuleList([
            nn.TransformerEncoderLayer(d_model, num_heads, dim_feedforward=ffn_channels, dropout=0.0,
                                       activation='gelu', batch_first=True, norm_first=True)
            for _ in range(num_layers)])
        self.decoder_norm = nn.LayerNorm(d_model)
        self.proj_patch = nn.Parameter(d_model ** -0.5 * torch.randn(d_model, d_model))
        self.proj_classes = nn.Parameter(d_model ** -0.5 * torch.randn(d_model, d_model))
        self.class_tokens = nn.Parameter(nn.init.trunc_normal_(torch.empty(1, self.num_classes, d_model), std=0.02))
        self.mask_norm = nn.LayerNorm(self.num_classes)
        self._official_init()

    def _official_init(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.MultiheadAttention):  # the fused q/k/v projection is not an nn.Linear
                nn.init.trunc_normal_(m.in_proj_weight, std=0.02)
                nn.init.zeros_(m.in_proj_bias)

    # growth ---------------------------------------------------------------------------------------------
    def add_step(self, num_new: int) -> nn.Parameter:
        """Append ``num_new`` class tokens (``new_token_init``) and extend ``mask_norm``; returns the new
        ``class_tokens`` (1, C + num_new, d_model).  Device and dtype are kept."""
        if not isinstance(num_new, int) or num_new < 1:
            raise ConfigError(f'TokenMaskTransformerHead.add_step: a step adds at least one class, got {num_new!r}')
        old_tokens, old_norm = self.class_tokens.detach(), self.mask_norm
        gamma, beta = old_norm.weight.detach(), old_norm.bias.detach()
        if self.new_token_init == 'mean':
            new_tokens = old_tokens.mean(dim=1, keepdim=True).expand(-1, num_new, -1)
            new_gamma = gamma.mean().expand(num_new)
            new_beta = (gamma if self.mask_norm_beta_quirk else beta).mean().expand(num_new)
        elif self.new_token_init == 'background':
            new_tokens = old_tokens[:, :1].expand(-1, num_new, -1)
            new_gamma, new_beta = gamma[:1].expand(num_new), beta[:1].expand(num_new)
        else:  # 'random'
            new_tokens = nn.init.trunc_normal_(old_tokens.new_empty(1, num_new, self.d_model), std=0.02)
            new_gamma, new_beta = gamma.new_ones(num_new), beta.new_zeros(num_new)
        num_classes = self.num_classes + num_new
        mask_norm = nn.LayerNorm(num_classes, eps=old_norm.eps, device=gamma.device, dtype=gamma.dtype)
        with torch.no_grad():
            mask_norm.weight.copy_(torch.cat([gamma, new_gamma]))
            mask_norm.bias.copy_(torch.cat([beta, new_beta]))
        self.class_tokens = nn.Parameter(torch.cat([old_tokens, new_tokens], dim=1))
        self.mask_norm = mask_norm
        self.classes_per_step = self.classes_per_step + [num_new]
        self.num_classes = self.out_channels = num_classes
        return self.class_tokens

    # forward --------------------------------------------------------------------------------------------
    def resized_pos_embed(self, height: int, width: int) -> torch.Tensor:
        """The positional embedding (1, d_model, height, width), bilinearly resized from ``pos_grid`` if needed."""
        if (height, width) == tuple(self.pos_embed.shape[-2:]):
            return self.pos_embed
        return F.interpolate(self.pos_embed, size=(height, width), mode='bilinear', align_corners=False)

    def _decode(self, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
        """Backbone outputs -> decoded patches (B, h*w, d), classes (B, C, d) and (h, w)."""
        x = self.feature_embedding(self._transform_inputs(inputs))
        height, width = x.shape[-2:]
        x = (x + self.resized_pos_embed(height, width)).flatten(2).transpose(1, 2)
        x = torch.cat([x, self.class_tokens.expand(x.shape[0], -1, -1)], dim=1)
        for block in self.blocks:
            x = block(x)
        x = self.decoder_norm(x)
        return x[:, :-self.num_classes], x[:, -self.num_classes:], (height, width)

    def _masks(self, patches: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """Cosine similarity of every projected patch to every projected class, (B, h*w, C)."""
        patches = F.normalize(patches @ self.proj_patch, dim=-1)
        classes = F.normalize(classes @ self.proj_classes, dim=-1)
        return patches @ classes.transpose(1, 2)

    @staticmethod
    def _to_map(tokens: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """(B, h*w, K) -> (B, K, h, w)."""
        return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], *size)

    def forward_features(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        """Decoded patch embeddings (B, d_model, h, w): after ``decoder_norm``, before projection and L2
        normalisation (the official TranSeg ``attentions`` entry that BACS distils)."""
        patches, _, size = self._decode(inputs)
        return self._to_map(patches, size)

    def class_scores(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        """Cosine masks before ``mask_norm``, (B, C, h, w), in [-1, 1]."""
        patches, classes, size = self._decode(inputs)
        return self._to_map(self._masks(patches, classes), size)

    def forward_with_features(self, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, C, h, w) and :meth:`forward_features` (B, d_model, h, w) from one pass."""
        patches, classes, size = self._decode(inputs)
        logits = self.mask_norm(self._masks(patches, classes))
        return self._to_map(logits, size), self._to_map(patches, size)

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        """Backbone outputs -> logits (B, C, h, w) at the feature map's resolution."""
        patches, classes, size = self._decode(inputs)
        return self._to_map(self.mask_norm(self._masks(patches, classes)), size)

    def cls_seg(self, feat: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError('TokenMaskTransformerHead has no conv_seg: the logits come from forward()')
