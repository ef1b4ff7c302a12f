"""MarginBCELoss: golden values from the formula, reductions, stage-1 equivalence, bad input."""
import math

import pytest
import torch
import torch.nn.functional as F

from visionx.models.losses.gridformer.margin_bce import MarginBCELoss, margin_bce_loss


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_golden_values_by_hand():
    # occupied point pays softplus(m - z), free point pays softplus(z + m)
    logits = torch.tensor([[1.0, -0.5], [3.0, 0.0]])
    occ = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    m = 2.0
    per = [[softplus(m - 1.0), softplus(-0.5 + m)], [softplus(3.0 + m), softplus(m - 0.0)]]
    out = margin_bce_loss(logits, occ, margin=m, reduction='none')
    assert torch.allclose(out, torch.tensor(per), atol=1e-6)
    expected = (sum(per[0]) + sum(per[1])) / 2  # summed over points, averaged over the batch
    loss = MarginBCELoss(margin=m)(logits, occ)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_margin_zero_is_plain_bce_and_reductions():
    torch.manual_seed(0)
    logits, occ = torch.randn(3, 7), (torch.rand(3, 7) > 0.5).float()
    bce = F.binary_cross_entropy_with_logits(logits, occ, reduction='none')
    assert torch.allclose(MarginBCELoss(margin=0.0)(logits, occ), bce.sum(1).mean())
    assert torch.allclose(MarginBCELoss(margin=0.0, reduction='mean')(logits, occ), bce.mean())
    assert torch.allclose(MarginBCELoss(margin=0.0, reduction='sum', loss_weight=0.5)(logits, occ),
                          0.5 * bce.sum())
    assert torch.allclose(margin_bce_loss(logits, occ, 0.0, avg_factor=7.0), bce.sum() / 7)


def test_margin_pushes_beyond_margin():
    # a correct but unconfident logit is penalised more with a margin, a confident one barely
    occ = torch.ones(1, 2)
    logits = torch.tensor([[0.5, 8.0]])
    plain = margin_bce_loss(logits, occ, 0.0, reduction='none')
    margin = margin_bce_loss(logits, occ, 2.0, reduction='none')
    assert margin[0, 0] > 3 * plain[0, 0]
    assert margin[0, 1] < 0.01


def test_gradient_and_bad_input():
    logits = torch.zeros(2, 4, requires_grad=True)
    MarginBCELoss()(logits, torch.ones(2, 4)).backward()
    assert (logits.grad < 0).all()
    with pytest.raises(ValueError, match='B, N'):
        margin_bce_loss(torch.zeros(4), torch.zeros(4))
    with pytest.raises(ValueError, match='margin'):
        margin_bce_loss(torch.zeros(1, 4), torch.zeros(1, 4), margin=-1)
    with pytest.raises(ValueError, match='loss_'):
        MarginBCELoss(loss_name='occ')
    with pytest.raises(ValueError, match='reduction'):
        MarginBCELoss(reduction='avg')
