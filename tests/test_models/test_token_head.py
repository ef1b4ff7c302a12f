"""TokenMaskTransformerHead (BACS TranSeg decoder, METHODS.md B§5.1): shapes, mask_norm over the classes,
growth (token and mask_norm init by hand, incl. the β quirk), what growth changes, DDP-safe parameters,
positional-embedding resizing and argument checks."""
from __future__ import annotations

import pytest
import torch

from visionx.models.ciss.token_head import TokenMaskTransformerHead
from visionx.registry import MODELS
from visionx.utils.errors import ConfigError

TINY = dict(in_channels=8, d_model=16, num_heads=2, ffn_channels=32, pos_grid=(4, 4))


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def make_head(classes_per_step=(3,), **kwargs) -> TokenMaskTransformerHead:
    torch.manual_seed(0)
    return TokenMaskTransformerHead(classes_per_step=list(classes_per_step), **{**TINY, **kwargs})


def feats(h: int = 4, w: int = 4, b: int = 2) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return [torch.randn(b, 4, 2 * h, 2 * w, generator=g), torch.randn(b, 8, h, w, generator=g)]


def test_build_and_shapes():
    head = MODELS.build(dict(type='TokenMaskTransformerHead', classes_per_step=[2, 1], **TINY))
    assert head.num_classes == head.out_channels == 3 and head.class_tokens.shape == (1, 3, 16)
    x = feats()
    logits = head(x)
    assert logits.shape == (2, 3, 4, 4)
    assert head.forward_features(x).shape == (2, 16, 4, 4)
    both = head.forward_with_features(x)
    torch.testing.assert_close(both[0], logits)
    torch.testing.assert_close(both[1], head.forward_features(x))
    assert not hasattr(head, 'conv_seg') and head.dropout is None
    with pytest.raises(NotImplementedError):
        head.cls_seg(logits)


def test_official_init():
    head = make_head()
    for norm in (head.decoder_norm, head.mask_norm, head.blocks[0].norm1):
        assert torch.equal(norm.weight, torch.ones_like(norm.weight))
        assert torch.equal(norm.bias, torch.zeros_like(norm.bias))
    attn = head.blocks[0].self_attn
    assert torch.equal(attn.in_proj_bias, torch.zeros(48)) and torch.equal(head.blocks[0].linear1.bias, torch.zeros(32))
    assert 0.01 < attn.in_proj_weight.std() < 0.03 and 0.01 < head.blocks[0].linear2.weight.std() < 0.03
    # pos_embed ~ N(0, 1); projections ~ d**-0.5 N(0, 1) = N(0, 0.25**2)
    assert 0.8 < head.pos_embed.std() < 1.2 and 0.2 < head.proj_patch.std() < 0.3


def test_forward_features_are_normalised_patch_tokens():
    """After decoder_norm (γ=1, β=0) each pixel's d_model vector has mean 0 and (biased) variance ≈ 1."""
    f = make_head().forward_features(feats())
    torch.testing.assert_close(f.mean(1), torch.zeros(2, 4, 4), atol=1e-5, rtol=0)
    torch.testing.assert_close(f.var(1, unbiased=False), torch.ones(2, 4, 4), atol=1e-3, rtol=0)


def test_mask_norm_over_classes():
    head = make_head()
    x = feats()
    s = head.class_scores(x)
    assert s.abs().max() <= 1 + 1e-6  # cosine similarities
    logits = head(x)
    mean, var = s.mean(1, keepdim=True), s.var(1, unbiased=False, keepdim=True)
    torch.testing.assert_close(logits, (s - mean) / torch.sqrt(var + 1e-5))
    torch.testing.assert_close(logits.mean(1), torch.zeros(2, 4, 4), atol=1e-5, rtol=0)
    torch.testing.assert_close(logits.var(1, unbiased=False), (var / (var + 1e-5)).squeeze(1))
    with torch.no_grad():
        head.mask_norm.weight.copy_(torch.tensor([1.0, 2.0, 3.0]))
        head.mask_norm.bias.copy_(torch.tensor([0.5, -0.5, 3.0]))
    gamma, beta = torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1), torch.tensor([0.5, -0.5, 3.0]).view(1, 3, 1, 1)
    torch.testing.assert_close(head(x), gamma * (s - mean) / torch.sqrt(var + 1e-5) + beta)


def test_cosine_masks_by_the_formula():
    """Without transformer blocks, s[b, k, i, j] = cos(LN(W x[b, :, i, j] + b_W + pos[:, i, j]) P_patch,
    LN(t_k) P_class) (official TranSeg ``masks``), written out here with einsum and a hand LayerNorm."""
    head = make_head(num_layers=0)
    x = feats()[-1]  # in_index -1: (2, 8, 4, 4)
    w = head.feature_embedding.weight[:, :, 0, 0]
    emb = torch.einsum('dc,bchw->bhwd', w, x) + head.feature_embedding.bias + head.pos_embed[0].permute(1, 2, 0)

    def layer_norm(v):  # decoder_norm: gamma 1, beta 0 (official init), eps 1e-5
        return (v - v.mean(-1, keepdim=True)) / torch.sqrt(v.var(-1, unbiased=False, keepdim=True) + 1e-5)

    def cos_maps(p_patch, p_class):
        patch = layer_norm(emb) @ p_patch  # (B, h, w, d)
        cls = layer_norm(head.class_tokens[0]) @ p_class  # (K, d)
        patch = patch / patch.norm(dim=-1, keepdim=True)
        cls = cls / cls.norm(dim=-1, keepdim=True)
        return torch.einsum('bhwd,kd->bkhw', patch, cls)

    with torch.no_grad():
        s = head.class_scores(feats())
        expected = cos_maps(head.proj_patch, head.proj_classes)
        swapped = cos_maps(head.proj_classes, head.proj_patch)
    torch.testing.assert_close(s, expected, atol=1e-5, rtol=1e-5)
    assert (swapped - s).abs().max() > 0.1  # the two projections are told apart


def _set_known(head: TokenMaskTransformerHead) -> torch.Tensor:
    tokens = torch.arange(48, dtype=torch.float32).view(1, 3, 16) / 10
    with torch.no_grad():
        head.class_tokens.copy_(tokens)
        head.mask_norm.weight.copy_(torch.tensor([1.0, 2.0, 3.0]))
        head.mask_norm.bias.copy_(torch.tensor([0.5, -0.5, 3.0]))
    return tokens


@pytest.mark.parametrize('quirk, new_beta', [(True, 2.0), (False, 1.0)])  # mean γ = 2; mean β = 1
def test_add_step_mean(quirk, new_beta):
    head = make_head(mask_norm_beta_quirk=quirk)
    tokens = _set_known(head)
    head.add_step(2)
    assert head.classes_per_step == [3, 2] and head.num_classes == head.out_channels == 5
    assert head.class_tokens.shape == (1, 5, 16) and head.mask_norm.normalized_shape == (5,)
    torch.testing.assert_close(head.class_tokens[0, :3], tokens[0])
    mean_token = (torch.arange(16) / 10 + 1.6)  # rows start at 0, 1.6, 3.2 -> mean row starts at 1.6
    for c in (3, 4):
        torch.testing.assert_close(head.class_tokens[0, c], mean_token)
    assert head.mask_norm.weight.tolist() == [1.0, 2.0, 3.0, 2.0, 2.0]
    assert head.mask_norm.bias.tolist() == [0.5, -0.5, 3.0, new_beta, new_beta]
    assert head(feats()).shape == (2, 5, 4, 4)


def test_add_step_background_and_random():
    head = make_head(new_token_init='background')
    tokens = _set_known(head)
    head.add_step(2)
    torch.testing.assert_close(head.class_tokens[0, 3:], tokens[0, :1].expand(2, -1))
    assert head.mask_norm.weight.tolist() == [1.0, 2.0, 3.0, 1.0, 1.0]
    assert head.mask_norm.bias.tolist() == [0.5, -0.5, 3.0, 0.5, 0.5]

    head = make_head(new_token_init='random')
    tokens = _set_known(head)
    head.add_step(1)
    torch.testing.assert_close(head.class_tokens[0, :3], tokens[0])
    new = head.class_tokens[0, 3]
    assert new.abs().max() < 0.1 and new.std() > 0  # trunc-normal std 0.02, not a copy
    assert head.mask_norm.weight.tolist() == [1.0, 2.0, 3.0, 1.0]
    assert head.mask_norm.bias.tolist() == [0.5, -0.5, 3.0, 0.0]


@pytest.mark.parametrize('init', ['mean', 'random', 'background'])
def test_add_step_keeps_dtype_and_other_parameters(init):
    head = make_head(new_token_init=init).double()
    before = {k: v.clone() for k, v in head.state_dict().items() if not k.startswith(('class_tokens', 'mask_norm'))}
    head.add_step(1)
    assert head.class_tokens.dtype == head.mask_norm.weight.dtype == head.mask_norm.bias.dtype == torch.float64
    assert head.class_tokens.device == head.mask_norm.weight.device == head.pos_embed.device
    after = head.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())
    assert head([f.double() for f in feats()]).dtype == torch.float64


def test_growth_without_blocks_changes_old_logits_only_through_mask_norm():
    """num_layers=0: patches do not see the class tokens, so the old cosine masks are unchanged and the old
    logits change only through mask_norm's statistics over the extended class vector."""
    head = make_head(num_layers=0)
    x = feats()
    s_old, logits_old = head.class_scores(x), head(x)
    head.add_step(2)
    s = head.class_scores(x)
    torch.testing.assert_close(s[:, :3], s_old)
    mean, var = s.mean(1, keepdim=True), s.var(1, unbiased=False, keepdim=True)
    expected = (s[:, :3] - mean) / torch.sqrt(var + 1e-5)
    torch.testing.assert_close(head(x)[:, :3], expected)
    assert not torch.allclose(head(x)[:, :3], logits_old)


def test_growth_with_blocks_changes_patch_features():
    """With transformer blocks the patches attend to the class tokens: a new token changes the decoded
    patches (BACS's distilled features) even with the 'mean' init."""
    head = make_head()
    x = feats()
    f_old = head.forward_features(x)
    head.add_step(1)
    assert (head.forward_features(x) - f_old).abs().max() > 1e-4


def test_every_parameter_gets_a_gradient():
    head = make_head(classes_per_step=(2, 1))
    head.add_step(1)
    logits = head(feats())
    (logits * torch.randn_like(logits)).sum().backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_pos_embed_resize():
    head = make_head(pos_grid=(1, 2))
    with torch.no_grad():
        head.pos_embed.copy_(torch.tensor([0.0, 1.0]).view(1, 1, 1, 2).expand(1, 16, 1, 2))
    assert head.resized_pos_embed(1, 2) is head.pos_embed
    # bilinear, align_corners=False: sample points (j + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamp to [0, 1]
    resized = head.resized_pos_embed(1, 4)
    assert resized.shape == (1, 16, 1, 4)
    torch.testing.assert_close(resized[0, 5, 0], torch.tensor([0.0, 0.25, 0.75, 1.0]))
    head = make_head()
    assert head(feats(5, 7)).shape == (2, 3, 5, 7)


@pytest.mark.parametrize('kwargs', [
    dict(classes_per_step=[]), dict(classes_per_step=[2, 0]), dict(classes_per_step=[1]),
    dict(classes_per_step='ab'), dict(num_classes=3), dict(loss_decode=dict(type='CrossEntropyLoss')),
    dict(channels=16), dict(dropout_ratio=0.1), dict(num_heads=3), dict(num_layers=-1),
    dict(new_token_init='zeros'), dict(pos_grid=(4, 0)), dict(pos_grid=(4, 4, 4)),
    dict(input_transform='multiple_select', in_channels=[8, 8], in_index=[0, 1]),
    # read only by BaseDecodeHead.loss_by_feat (the segmentor computes the losses) or unused by this decoder
    dict(ignore_index=7), dict(sampler=dict(type='OHEMPixelSampler')), dict(threshold=0.3),
    dict(norm_cfg=dict(type='BN')), dict(act_cfg=dict(type='ReLU')), dict(conv_cfg=dict(type='Conv2d')),
])
def test_bad_args_rejected(kwargs):
    with pytest.raises(ConfigError):
        TokenMaskTransformerHead(**{**TINY, 'classes_per_step': [3], **kwargs})


@pytest.mark.parametrize('num_new', [0, -1, 1.5])
def test_bad_add_step_rejected(num_new):
    with pytest.raises(ConfigError):
        make_head().add_step(num_new)
