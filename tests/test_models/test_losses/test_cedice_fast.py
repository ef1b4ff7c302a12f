"""CE+Dice's fused integer-label path equals F.cross_entropy + soft Dice written here, with ignore and checks."""
import pytest
import torch
import torch.nn.functional as F

from visionx.models.losses.topology.losses import CEDiceLoss, ce_dice_loss


def _minimal(logits, labels, valid=None):
    """CE over valid pixels + 1 - mean over (image, class) of (2 sum p y + s) / (sum p + sum y + s)."""
    k = logits.shape[1]
    if valid is None:
        valid = torch.ones_like(labels, dtype=torch.bool)
    lab = torch.where(valid, labels, torch.zeros_like(labels))
    logp = logits.log_softmax(1)
    ce = -logp.gather(1, lab[:, None])[:, 0][valid].mean()
    p = logp.exp() * valid[:, None]
    y = F.one_hot(lab, k).movedim(-1, 1).float() * valid[:, None]
    dims = tuple(range(2, logits.dim()))
    dice = (2 * (p * y).sum(dims) + 1e-5) / (p.sum(dims) + y.sum(dims) + 1e-5)
    return ce + 1 - dice.mean()


@pytest.mark.parametrize('shape', [(2, 3, 9, 7), (1, 2, 5, 6, 4)])
def test_matches_minimal_formula_with_and_without_ignored_pixels(shape):
    torch.manual_seed(0)
    logits = torch.randn(shape, requires_grad=True)
    labels = torch.randint(0, shape[1], (shape[0], *shape[2:]))
    for ignore in (False, True):
        lab = labels.clone()
        if ignore:
            lab.view(-1)[::3] = 255
        valid = lab != 255
        ours = CEDiceLoss()(logits, lab)
        ref = _minimal(logits, lab, valid)
        g_ours, = torch.autograd.grad(ours, logits)
        g_ref, = torch.autograd.grad(ref, logits)
        assert torch.allclose(ours, ref, atol=1e-6)
        assert torch.allclose(g_ours, g_ref, atol=1e-7)
        if ignore:  # ignored pixels get no gradient
            assert g_ours.movedim(1, -1)[~valid].abs().max() == 0


def test_lambdas_and_label_checks():
    torch.manual_seed(1)
    logits = torch.randn(2, 2, 6, 6)
    labels = torch.randint(0, 2, (2, 6, 6))
    ce = F.cross_entropy(logits, labels)
    dice_part = _minimal(logits, labels) - ce
    assert torch.allclose(ce_dice_loss(logits, labels, 2.0, 0.5), 2 * ce + 0.5 * dice_part, atol=1e-6)
    bad = labels.clone()
    bad[0, 0, 0] = 255
    with pytest.raises(ValueError, match=r'labels must lie in \[0, 1\].*got values in \[0, 255\]'):
        ce_dice_loss(logits, bad, ignore_index=None)
    bad[0, 0, 0] = -1
    with pytest.raises(ValueError, match='labels must lie in'):
        ce_dice_loss(logits, bad)
    with pytest.raises(ValueError, match='does not match'):
        ce_dice_loss(logits, labels[:, :5])
    # all pixels ignored: CE has no pixel to average over and counts 0 (the general path's clamp)
    assert torch.isfinite(ce_dice_loss(logits, torch.full_like(labels, 255)))
