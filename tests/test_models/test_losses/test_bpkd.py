"""BPKD masks and losses on hand-made label maps and hand-computed values (METHODS.md part B §1.3)."""
from __future__ import annotations

import math

import pytest
import torch

from visionx.models.losses.bpkd import (BPKDBodyLoss, BPKDEdgeLoss, ChannelWiseDivergenceLoss, class_edge_map,
                                        edge_body_masks)
from visionx.registry import MODELS


def _box(h, w, rows, cols):
    m = torch.zeros(h, w)
    m[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1] = 1
    return m


def _full_edges(label, num_classes, k=3, ignore_index=255):
    edges, classes = class_edge_map(label.unsqueeze(0), num_classes, k, ignore_index)
    full = torch.zeros(num_classes, *label.shape)
    full[classes] = edges[0]
    return full


def test_square_edges_are_the_ring_around_its_border():
    label = torch.zeros(10, 10, dtype=torch.long)
    label[3:7, 3:7] = 1  # 4×4 square, rows/cols 3..6
    e = _full_edges(label, 2, k=3)
    # dilation grows the square to rows/cols 2..7, erosion shrinks it to 4..5: a 6×6 ring minus the 2×2 core
    ring = _box(10, 10, (2, 7), (2, 7)) - _box(10, 10, (4, 5), (4, 5))
    assert torch.equal(e[1], ring)
    assert torch.equal(e[0], ring)  # the background's gradient is the same ring
    assert int(e[1].sum()) == 32


def test_one_pixel_line_is_all_edge_with_its_neighbours():
    label = torch.zeros(9, 9, dtype=torch.long)
    label[:, 5] = 2
    e = _full_edges(label, 3, k=3)
    band = _box(9, 9, (0, 8), (4, 6))  # erosion of a one-pixel line is empty
    assert torch.equal(e[2], band)
    assert torch.equal(e[0], band)
    assert e[1].sum() == 0  # class 1 is absent


def test_kernel_size_sets_the_edge_width():
    label = torch.zeros(15, 15, dtype=torch.long)
    label[:, 7] = 1
    e = _full_edges(label, 2, k=7)
    assert torch.equal(e[1], _box(15, 15, (0, 14), (4, 10)))


def test_ignore_pixels_are_not_edges_and_image_borders_are_not_edges():
    label = torch.zeros(6, 6, dtype=torch.long)
    label[:, 3:] = 255
    e = _full_edges(label, 2, k=3)
    # class 0 fills cols 0..2; its erosion loses col 2 (next to ignore), the dilation's col 3 is ignore
    assert torch.equal(e[0], _box(6, 6, (0, 5), (2, 2)))
    uniform = torch.ones(1, 5, 5, dtype=torch.long)
    edge, body = edge_body_masks(uniform, 3, (5, 5), kernel_size=3)
    assert edge.sum() == 0 and torch.equal(body, torch.ones(1, 3, 5, 5))


def test_absent_class_has_zero_edge_and_pooling_averages_blocks():
    label = torch.zeros(1, 8, 8, dtype=torch.long)
    label[0, :, 4:] = 1  # vertical border between cols 3 and 4
    edge, body = edge_body_masks(label, 4, (2, 2), kernel_size=3)
    assert edge.shape == (1, 4, 2, 2)
    # full-resolution edge of classes 0 and 1: cols 3..4 (8 rows); each 4×4 block holds 4 rows × 1 col of it
    expected = torch.full((2, 2), 4 / 16)
    assert torch.allclose(edge[0, 0], expected) and torch.allclose(edge[0, 1], expected)
    assert edge[0, 2:].sum() == 0 and torch.equal(body[0, 2:], torch.ones(2, 2, 2))
    assert torch.allclose(body, 1 - edge)


def test_bad_labels_and_kernels_are_rejected():
    with pytest.raises(ValueError, match='labels must lie'):
        class_edge_map(torch.full((1, 3, 3), 5), 3)
    with pytest.raises(ValueError, match='odd'):
        class_edge_map(torch.zeros(1, 3, 3, dtype=torch.long), 3, kernel_size=4)
    with pytest.raises(ValueError, match='odd'):
        MODELS.build(dict(type='BPKDEdgeLoss', kernel_size=2))


def _kl(p, q):
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q))


def _softmax(xs, t=1.0):
    e = [math.exp(x / t) for x in xs]
    return [v / sum(e) for v in e]


def test_cwd_hand_value_with_temperature():
    s = torch.tensor([[[[0.0, 0.0]]]])  # (1, 1, 1, 2)
    t = torch.tensor([[[[math.log(3.0), 0.0]]]])
    loss = ChannelWiseDivergenceLoss(tau=1.0, loss_weight=3.0)(s, t)
    assert loss.item() == pytest.approx(3.0 * _kl([0.75, 0.25], [0.5, 0.5]), rel=1e-6)
    loss2 = ChannelWiseDivergenceLoss(tau=2.0, loss_weight=1.0)(s, t)
    assert loss2.item() == pytest.approx(4.0 * _kl(_softmax([math.log(3.0), 0], 2.0), [0.5, 0.5]), rel=1e-6)


def test_cwd_averages_channels_and_images():
    s = torch.zeros(2, 2, 1, 2)
    t = torch.zeros(2, 2, 1, 2)
    t[0, 0, 0, 0] = math.log(3.0)  # only image 0, channel 0 differs
    loss = ChannelWiseDivergenceLoss(loss_weight=1.0)(s, t)
    assert loss.item() == pytest.approx(_kl([0.75, 0.25], [0.5, 0.5]) / 2 / 2, rel=1e-6)
    per_image = ChannelWiseDivergenceLoss(loss_weight=1.0, reduction='none')(s, t)
    assert per_image[1].item() == 0.0


def test_edge_loss_hand_value_with_soft_mask():
    # C = 2, one row of 2 pixels; soft edge mask: pixel 0 -> (1, 0.5), pixel 1 -> (0.5, 0)
    s = torch.tensor([[[[1.0, 2.0]], [[0.0, 1.0]]]])
    t = torch.tensor([[[[0.0, -1.0]], [[2.0, 3.0]]]])
    m = torch.tensor([[[[1.0, 0.5]], [[0.5, 0.0]]]])
    tau, alpha = 2.0, 2.0
    phi0 = tau ** 2 * _kl(_softmax([0.0 * 1, 2.0 * 0.5], tau), _softmax([1.0 * 1, 0.0 * 0.5], tau))
    phi1 = tau ** 2 * _kl(_softmax([-1.0 * 0.5, 3.0 * 0], tau), _softmax([2.0 * 0.5, 1.0 * 0], tau))
    # class 0: mass 1.5, class 1: mass 0.5
    expected = alpha * (phi0 * 1.0 + phi1 * 0.5) / 1.5 + alpha * (phi0 * 0.5 + phi1 * 0.0) / 0.5
    loss = BPKDEdgeLoss(tau=tau, alpha=alpha, loss_weight=50.0)(s, t, edge_mask=m)
    assert loss.item() == pytest.approx(50.0 * expected, rel=1e-6)


def test_edge_loss_class_without_edges_adds_nothing_and_per_class_alpha():
    s = torch.tensor([[[[1.0]], [[0.0]], [[0.5]]]])
    t = torch.tensor([[[[0.0]], [[1.0]], [[2.0]]]])
    m = torch.tensor([[[[1.0]], [[1.0]], [[0.0]]]])  # class 2 has no edge mass
    phi = _kl(_softmax([0.0, 1.0, 0.0]), _softmax([1.0, 0.0, 0.0]))
    loss = BPKDEdgeLoss(alpha=[1.0, 3.0, 100.0], loss_weight=1.0)(s, t, edge_mask=m)
    assert loss.item() == pytest.approx(1.0 * phi + 3.0 * phi, rel=1e-6)
    with pytest.raises(ValueError, match='alpha has 2 values'):
        BPKDEdgeLoss(alpha=[1.0, 2.0])(s, t, edge_mask=m)


def test_body_loss_hand_value():
    s = torch.tensor([[[[1.0, 0.0]]]])
    t = torch.tensor([[[[0.0, 2.0]]]])
    body = torch.tensor([[[[0.5, 1.0]]]])
    expected = _kl(_softmax([0.0, 2.0]), _softmax([0.5, 0.0]))
    loss = BPKDBodyLoss(loss_weight=20.0)(s, t, edge_mask=1 - body)
    assert loss.item() == pytest.approx(20.0 * expected, rel=1e-6)


def test_losses_from_labels_use_the_pooled_ground_truth_masks():
    torch.manual_seed(0)
    label = torch.zeros(2, 8, 8, dtype=torch.long)
    label[0, 2:6, 2:6] = 1
    label[1, :, 5] = 2
    label[1, 0, :] = 255
    s, t = torch.randn(2, 3, 4, 4, requires_grad=True), torch.randn(2, 3, 4, 4)
    edge, body = edge_body_masks(label, 3, (4, 4), kernel_size=3)
    edge_loss = BPKDEdgeLoss(kernel_size=3, loss_weight=1.0)
    body_loss = BPKDBodyLoss(kernel_size=3, loss_weight=1.0)
    assert torch.allclose(edge_loss(s, t, seg_label=label), edge_loss(s, t, edge_mask=edge))
    assert torch.allclose(body_loss(s, t, seg_label=label), body_loss(s, t, edge_mask=edge))
    assert edge_loss.needs_label and not ChannelWiseDivergenceLoss.needs_label
    body_loss(s, t, seg_label=label).backward()
    assert s.grad is not None and torch.isfinite(s.grad).all()


def test_identical_logits_give_zero_and_bad_options_fail():
    x = torch.randn(1, 3, 4, 4)
    m = torch.rand(1, 3, 4, 4)
    assert BPKDEdgeLoss()(x, x, edge_mask=m).item() == pytest.approx(0.0, abs=1e-6)
    assert BPKDBodyLoss()(x, x, edge_mask=m).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match='tau'):
        ChannelWiseDivergenceLoss(tau=0)
    with pytest.raises(ValueError, match='loss_'):
        BPKDBodyLoss(loss_name='body')
    with pytest.raises(ValueError, match='one shape'):
        ChannelWiseDivergenceLoss()(x, x[:, :2])
