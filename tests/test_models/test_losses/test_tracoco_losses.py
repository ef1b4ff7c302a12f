"""TraCoCo losses: golden values from the formulas of docs/METHODS.md part B §2.3."""
import math

import pytest
import torch
import torch.nn.functional as F

from visionx.models.losses.tracoco import (CBCLoss, OverlapNegEntropyLoss, TraCoCoSupLoss, TranslationConsistencyLoss,
                                           cbc_loss, ce_dice_loss, neg_entropy, overlap_logits, soft_dice_loss,
                                           translation_consistency_loss)


def test_soft_dice_golden():
    p = torch.tensor([0.5, 1.0, 0.0, 0.25])
    y = torch.tensor([1, 1, 0, 0])
    # 1 - (2*(0.5+1) + eps) / ((0.25+1+0+0.0625) + 2 + eps)
    expected = 1 - (3.0 + 1e-5) / (3.3125 + 1e-5)
    assert soft_dice_loss(p, y).item() == pytest.approx(expected, abs=1e-7)
    with pytest.raises(ValueError):
        soft_dice_loss(p, y[:3])


def test_ce_dice_golden():
    logits = torch.tensor([[[0.0, 2.0]], [[1.0, 0.0]]]).unsqueeze(0)  # (1, 2 classes, 1, 2)
    target = torch.tensor([[[0, 0]]])
    # class-1 probabilities: softmax of (0, 1) and of (2, 0)
    p1 = torch.tensor([1 / (1 + math.exp(-1)), 1 / (1 + math.exp(2))])
    ce = -(math.log(1 - p1[0].item()) + math.log(1 - p1[1].item())) / 2
    dice = 1 - (0 + 1e-5) / ((p1**2).sum().item() + 0 + 1e-5)
    got = ce_dice_loss(logits, target).item()
    assert got == pytest.approx(0.5 * (ce + dice), rel=1e-5)
    assert TraCoCoSupLoss(loss_weight=2.0)(logits, target).item() == pytest.approx(2 * got, rel=1e-6)
    assert TraCoCoSupLoss().loss_name.startswith('loss_')


def test_overlap_and_kl_golden():
    torch.manual_seed(0)
    za, zb = torch.randn(2, 2, 4, 4, 4), torch.randn(2, 2, 4, 4, 4)
    bm = [((1, 4), (0, 4), (0, 3)), ((0, 2), (0, 4), (0, 4))]
    bt = [((0, 3), (0, 4), (1, 4)), ((2, 4), (0, 4), (0, 4))]
    pairs = overlap_logits(za, zb, bm, bt, clamp_logits=False)
    assert pairs[0][0].shape == (2, 3, 4, 3) and pairs[1][1].shape == (2, 2, 4, 4)
    assert torch.equal(pairs[0][1], zb[0][:, 0:3, 0:4, 1:4])
    # KL(softmax(b) || softmax(a)) averaged over C x voxels, summed over samples.
    exp = sum((F.softmax(b, 0) * (F.log_softmax(b, 0) - F.log_softmax(a, 0))).mean() for a, b in pairs)
    assert translation_consistency_loss(pairs).item() == pytest.approx(exp.item(), rel=1e-5)
    assert translation_consistency_loss(pairs, 'mean').item() == pytest.approx(exp.item() / 2, rel=1e-5)
    # The official clamp maps logits into [1e-6, 1] before the softmax.
    clamped = overlap_logits(za, zb, bm, bt, clamp_logits=True)
    assert all(t.min() >= 1e-6 and t.max() <= 1 for pair in clamped for t in pair)
    module = TranslationConsistencyLoss(clamp_logits=False, loss_weight=0.3)
    assert module(za, zb, bm, bt).item() == pytest.approx(0.3 * exp.item(), rel=1e-5)
    with pytest.raises(ValueError):
        overlap_logits(za, zb, [((0, 2), (0, 4), (0, 4))] * 2, [((0, 3), (0, 4), (0, 4))] * 2)


def test_identical_views_have_zero_kl_and_entropy_golden():
    z = torch.zeros(1, 2, 2, 2, 2)  # uniform prediction: KL = 0, sum p log p = -log 2
    box = [((0, 2), (0, 2), (0, 2))]
    pairs = overlap_logits(z, z, box, box, clamp_logits=False)
    assert translation_consistency_loss(pairs).item() == pytest.approx(0.0, abs=1e-7)
    assert neg_entropy(pairs).item() == pytest.approx(-math.log(2), rel=1e-6)
    # A confident prediction has higher (less negative) value: the regulariser pushes towards uncertainty.
    conf = torch.tensor([5.0, -5.0]).view(1, 2, 1, 1, 1).expand(1, 2, 2, 2, 2)
    assert neg_entropy(overlap_logits(conf, conf, box, box, False)).item() > -0.1


def test_cbc_golden():
    # Three voxels, binary.  Peer probabilities of class 1: 0.9 (confident fg), 0.5 (unsure), 0.05 (conf. bg).
    q1 = torch.tensor([0.9, 0.5, 0.05])
    peer = torch.stack([torch.log(1 - q1), torch.log(q1)]).view(1, 2, 3, 1, 1)
    z = torch.tensor([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]]).view(1, 2, 3, 1, 1)
    p = F.softmax(z, 1).view(2, 3)
    # positive mask q+ >= 0.65: voxels 0 (y=1, q+=0.9) and 2 (y=0, q+=0.95)
    pos = (0.9 * -torch.log(p[1, 0]) + 0.95 * -torch.log(p[0, 2])) / 2
    # negative mask q- < 0.1: voxels 0 (q-=0.1? no: 0.1 is not < 0.1) -> only voxel 2 (q-=0.05, class 1)
    neg = 0.05 * -torch.log(1 - p[1, 2])
    got = cbc_loss(z, peer, 0.65, 0.1)
    assert got.item() == pytest.approx((pos + neg).item(), rel=1e-4)
    assert CBCLoss(loss_weight=0.5)(z, peer).item() == pytest.approx(0.5 * got.item(), rel=1e-6)


def test_cbc_empty_masks_and_gradients():
    peer = torch.zeros(1, 2, 2, 2, 2)  # q = 0.5 everywhere: neither mask fires
    z = torch.randn(1, 2, 2, 2, 2, requires_grad=True)
    loss = cbc_loss(z, peer)
    assert loss.item() == 0.0
    peer = torch.randn(1, 2, 2, 2, 2) * 10
    loss = cbc_loss(z, peer.requires_grad_())
    loss.backward()
    assert z.grad is not None and peer.grad is None  # the peer is a constant
    with pytest.raises(ValueError):
        CBCLoss(tau_pos=0.05, tau_neg=0.1)
    with pytest.raises(ValueError):
        cbc_loss(z, torch.zeros(1, 2, 2, 2, 3))


def test_overlap_neg_entropy_loss_module_golden():
    # Sample 0: uniform logits over its overlap, sum p log p = -log 2; sample 1: logits (log 3, 0), i.e.
    # p = (3/4, 1/4), sum p log p = 3/4 log 3/4 + 1/4 log 1/4.  Both crops of both pairs count: mean of 4.
    z = torch.zeros(2, 2, 2, 2, 2)
    z[1, 0] = math.log(3)
    box = [((0, 2), (0, 1), (0, 2))] * 2
    loss = OverlapNegEntropyLoss(clamp_logits=False, loss_weight=0.05, loss_name='loss_ent')
    expected = 0.05 * (-math.log(2) + 0.75 * math.log(0.75) + 0.25 * math.log(0.25)) / 2
    assert loss(z, z, box, box).item() == pytest.approx(expected, rel=1e-6)
    assert loss.loss_name == 'loss_ent'
    # With the official clamp the logit log 3 > 1 becomes 1: p = softmax(1, 0).
    p = 1 / (1 + math.exp(-1))
    clamped = 0.05 * (-math.log(2) + p * math.log(p) + (1 - p) * math.log(1 - p)) / 2
    assert OverlapNegEntropyLoss(loss_weight=0.05)(z, z, box, box).item() == pytest.approx(clamped, rel=1e-6)
