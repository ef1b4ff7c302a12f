"""TOPO loss (MALIS windows): pair counts against brute-force maximin paths, loss values from the formula,
gradients, degenerate labels, deep supervision and the 1e-5 prediction threshold."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from visionx.models.losses.topology import ConnectivityMALISLoss
from visionx.models.losses.topology.malis import (grid_edges, malis_pair_counts, topo_malis_loss,
                                                  topo_malis_maps, topo_regions)
from visionx.models.segmentors import DeepSupervisionSegmentor, deep_supervision_weights


def _brute_force_counts(costs, labels, u, v):
    """Maximin edge of every labelled pair by enumerating all simple paths (tiny graphs only)."""
    n = len(labels)
    adj = {i: [] for i in range(n)}
    for e, (a, b) in enumerate(zip(u, v)):
        adj[a].append((b, e))
        adj[b].append((a, e))
    same, diff = np.zeros(len(u)), np.zeros(len(u))
    for i, j in itertools.combinations(range(n), 2):
        if labels[i] == 0 or labels[j] == 0:
            continue
        best = [-np.inf, None]

        def walk(x, seen, low, edge):
            if x == j:
                if low > best[0]:
                    best[:] = [low, edge]
                return
            for y, e in adj[x]:
                if y not in seen:
                    walk(y, seen | {y}, *((costs[e], e) if costs[e] < low else (low, edge)))

        walk(i, {i}, np.inf, None)
        (same if labels[i] == labels[j] else diff)[best[1]] += 1
    return same, diff


def test_grid_edges():
    u, v = grid_edges(2, 3)
    assert list(zip(u, v)) == [(0, 1), (1, 2), (3, 4), (4, 5), (0, 3), (1, 4), (2, 5)]


def test_malis_chain_by_hand():
    # chain 0-1-2-3, costs [3, 1, 2], regions [1, 1, 2, 2]: the only path between the regions has its
    # weakest link at edge 1-2, so all four cross pairs land there; each same pair on its own edge.
    u, v = grid_edges(1, 4)
    same, diff = malis_pair_counts(np.array([3.0, 1.0, 2.0]), np.array([1, 1, 2, 2]), u, v)
    assert same.tolist() == [1, 0, 1] and diff.tolist() == [0, 4, 0]
    # an unlabelled node (0) is not counted
    same, diff = malis_pair_counts(np.array([3.0, 1.0, 2.0]), np.array([1, 0, 2, 2]), u, v)
    assert same.tolist() == [0, 0, 1] and diff.tolist() == [0, 2, 0]


@pytest.mark.parametrize('shape', [(2, 3), (3, 3), (3, 4)])
def test_malis_matches_brute_force_maximin(shape):
    rng = np.random.default_rng(sum(shape))
    u, v = grid_edges(*shape)
    n = shape[0] * shape[1]
    costs = rng.random((6, len(u)))
    labels = rng.integers(0, 3, (6, n))
    labels[0] = [1, 2] * (n // 2) + [1] * (n % 2)  # every node labelled
    same, diff = malis_pair_counts(costs, labels, u, v)  # all 6 windows in lock-step
    for w in range(6):
        bs, bd = _brute_force_counts(costs[w], labels[w], u, v)
        np.testing.assert_array_equal(same[w], bs)
        np.testing.assert_array_equal(diff[w], bd)
        k = (labels[w] > 0).sum()
        assert same[w].sum() + diff[w].sum() == k * (k - 1) // 2


def test_regions_are_background_dilated_five_times():
    fg = np.zeros((30, 40), bool)
    fg[2:15, 2:15] = True     # 13 px wide: survives as 13 - 2 * 5 = 3 px
    fg[2:15, 20:30] = True    # 10 px wide: vanishes (a 5-px dilation from both sides meets)
    reg = topo_regions(fg)
    assert reg.sum() == 9 and reg[7:10, 7:10].all()
    assert topo_regions(np.ones((5, 5), bool)).all() and not topo_regions(np.zeros((5, 5), bool)).any()


def test_loss_value_from_formula():
    # 1x4 image, labels [1, 1, 0, 1], no dilation -> regions {0, 1} and {3}; x = [3, 2, .5, 1].
    # costs: e01 = 5, e12 = 2.5, e23 = 1.5 -> both cross pairs (0, 3), (1, 3) have their weakest link at
    # e23: W_n = 1 on nodes 2 and 3 after normalisation by the 2 pairs.  Binary-mask GT costs (<= 2) keep
    # every negative weight and mask every positive one.  EDT target [2, 1, 0, 1].
    x = torch.tensor([3.0, 2.0, 0.5, 1.0]).view(1, 1, 1, 4).requires_grad_(True)
    y = torch.tensor([1, 1, 0, 1]).view(1, 1, 4)
    mse = 1 + 1 + 0.25 + 0
    expected = 1e-3 * mse + 0.5 ** 2 + 1.0 ** 2
    v = ConnectivityMALISLoss(dilate_iterations=0)(x, y)
    assert v.item() == pytest.approx(expected, rel=1e-6)
    v.backward()
    # d/dx = 1e-3 * 2 (x - t) + 2 x W_n
    np.testing.assert_allclose(x.grad.view(-1).numpy(), [2e-3, 2e-3, 1e-3 + 1.0, 2.0], rtol=1e-6)
    # ReLU: a negative output counts as distance 0 (no gradient from either term there)
    x2 = torch.tensor([3.0, 2.0, -0.5, 1.0]).view(1, 1, 1, 4)
    assert ConnectivityMALISLoss(dilate_iterations=0)(x2, y).item() == pytest.approx(1e-3 * 2 + 1.0, rel=1e-6)


def test_class_weights_reach_the_topology_term():
    # the case above with mse_weights (background 2, foreground 3): node 2 is background, node 3 foreground
    x = torch.tensor([3.0, 2.0, 0.5, 1.0]).view(1, 1, 1, 4)
    y = torch.tensor([1, 1, 0, 1]).view(1, 1, 4)
    expected = 1e-3 * (3 * 1 + 3 * 1 + 2 * 0.25 + 0) + 2 * 0.5 ** 2 + 3 * 1.0 ** 2
    v = ConnectivityMALISLoss(dilate_iterations=0, mse_weights=(2.0, 3.0))(x, y)
    assert v.item() == pytest.approx(expected, rel=1e-6)


def test_regions_dilate_per_window_as_the_official_code():
    fg = np.zeros((32, 64), bool)
    fg[:, 20:32] = True          # a 12-px band that ends at the border of the first 32-px window
    whole = topo_regions(fg, 5)
    tiled = topo_regions(fg, 5, window=32)
    assert whole[0].nonzero()[0].tolist() == [25, 26]               # background on both sides: 2 px left
    assert tiled[0].nonzero()[0].tolist() == list(range(25, 32))   # outside the window counts as foreground
    assert not tiled[:, 32:].any()
    x = torch.zeros(1, 1, 32, 64)
    y = torch.from_numpy(fg).long()[None]
    assert torch.isfinite(ConnectivityMALISLoss(window=32, region_scope='image')(x, y))
    with pytest.raises(ValueError, match='region_scope'):
        ConnectivityMALISLoss(region_scope='tile')


def test_positive_pass_by_hand():
    # gt_cost='distance' with d_max = 1.5, d_min = 1 lets the connection term act (Oner et al.'s setting).
    # 1x5 bar, all foreground: EDT target 1 everywhere (the border counts as background), g_e = 2 >= d_max,
    # so every positive weight stays and every negative one is masked.  x = [4, 1, 3, 3, 2] gives costs
    # e01 5, e12 4, e23 6, e34 5.  Kruskal: e23 joins {2}{3} (1 pair), e01 {0}{1} (1), e34 {2,3}{4} (2),
    # e12 {0,1}{2,3,4} (6): same = [1, 6, 1, 2] / 10 -> W_p on nodes = [.1, .7, .7, .3, .2].
    y = torch.ones(1, 1, 5, dtype=torch.long)
    x = torch.tensor([4.0, 1.0, 3.0, 3.0, 2.0]).view(1, 1, 1, 5)
    u, v = grid_edges(1, 5)
    same, diff = malis_pair_counts(np.array([5.0, 4.0, 6.0, 5.0]), np.ones(5, int), u, v)
    assert same.tolist() == [1, 6, 1, 2] and not diff.any()
    w_n, w_p = topo_malis_maps(x[:, 0].numpy(), np.ones((1, 1, 5)), np.ones((1, 1, 5), bool),
                               window=64, d_max=1.5, d_min=1.0)
    np.testing.assert_allclose(w_p[0, 0], [.1, .7, .7, .3, .2])
    assert not w_n.any()
    loss = topo_malis_loss(x, y, d_max=1.5, d_min=1.0, dilate_iterations=0, gt_cost='distance')
    mse = 9 + 0 + 4 + 4 + 1
    topo = 6.25 * .1 + .25 * .7 + 2.25 * .7 + 2.25 * .3 + .25 * .2
    assert loss.item() == pytest.approx(1e-3 * mse + 0.1 * topo, rel=1e-6)
    # with TopoMortar's binary-mask GT costs (g_e <= 2 < d_max = 20) the connection term is masked out
    assert topo_malis_loss(x, y, dilate_iterations=0).item() == pytest.approx(1e-3 * mse, rel=1e-6)


def test_windows_are_independent():
    torch.manual_seed(0)
    y = (torch.rand(1, 6, 12) > 0.4).long()
    x = torch.randn(1, 1, 6, 12)
    whole = ConnectivityMALISLoss(window=6, dilate_iterations=0)(x, y)
    parts = sum(ConnectivityMALISLoss(window=6, dilate_iterations=0)(x[..., s:s + 6], y[..., s:s + 6]) for s in (0, 6))
    assert whole.item() == pytest.approx(parts.item(), rel=1e-6)
    assert whole.item() != pytest.approx(ConnectivityMALISLoss(window=12, dilate_iterations=0)(x, y).item())


@pytest.mark.parametrize('case', ['random', 'all_background', 'all_foreground'])
def test_finite_nonzero_gradients(case):
    torch.manual_seed(0)
    y = torch.zeros(2, 40, 40, dtype=torch.long)
    y[:, 2:16, 2:38] = 1      # two 14-px bars -> two regions after the 5-px dilation
    y[:, 24:38, 2:38] = 1
    if case == 'all_background':
        y.zero_()
    elif case == 'all_foreground':
        y.fill_(1)
    x = (torch.randn(2, 1, 40, 40) * 3).requires_grad_(True)
    loss = ConnectivityMALISLoss(window=32)
    v = loss(x, y)
    v.backward()
    assert torch.isfinite(v) and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    if case == 'random':
        maps = topo_malis_maps(torch.relu(x)[:, 0].detach().numpy(), y.numpy().astype(np.float32),
                               np.stack([topo_regions(m.numpy() > 0) for m in y]), 32)
        assert maps[0].sum() > 0 and not maps[1].any()   # separation acts, connection is masked


def test_bad_inputs():
    with pytest.raises(ValueError, match='out_channels=1'):
        ConnectivityMALISLoss()(torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match='gt_cost'):
        ConnectivityMALISLoss(gt_cost='edt')
    with pytest.raises(ValueError, match='255'):
        ConnectivityMALISLoss(ignore_index=None)(torch.zeros(1, 1, 4, 4), torch.full((1, 4, 4), 255))
    with pytest.raises(ValueError, match='loss_'):
        ConnectivityMALISLoss(loss_name='topo')


def test_ignored_pixels_leave_the_mse():
    x = torch.full((1, 1, 1, 4), 2.0)
    y = torch.tensor([[[0, 0, 255, 255]]])
    # background pixels regress 0: 2 pixels * 2^2 * 1e-3; ignored pixels do not count
    assert ConnectivityMALISLoss()(x, y).item() == pytest.approx(8e-3)


def _samples(b, size):
    out = []
    for i in range(b):
        ds = SegDataSample()
        lab = torch.zeros(1, size, size, dtype=torch.long)
        lab[:, 1:15, :] = 1
        lab[:, 17:31, :] = 1
        ds.gt_sem_seg = PixelData(data=lab)
        ds.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
                             padding_size=[0, 0, 0, 0]))
        out.append(ds)
    return out


def test_deep_supervision_and_threshold():
    init_default_scope('visionx')
    torch.manual_seed(0)
    net = dict(type='MonaiDynUNet', num_levels=4, filters=[4, 8, 8, 8], deep_supr_num=2, out_channels=1)
    model = DeepSupervisionSegmentor(network=net, loss=dict(type='ConnectivityMALISLoss', window=32),
                                     data_preprocessor=dict(type='SegDataPreProcessor', size_divisor=8),
                                     binary_threshold=1e-5)
    model.train()
    x = torch.randn(2, 3, 32, 32)
    samples = _samples(2, 32)
    losses = model.loss(x, samples)
    outs = model.network(x)
    target = torch.stack([ds.gt_sem_seg.data for ds in samples]).squeeze(1)
    assert topo_regions(target[0].numpy() > 0).any()  # two 14-px bars -> two regions in the 32-px window
    ref = ConnectivityMALISLoss(window=32)
    expected = sum(w * ref(o, target) for w, o in zip(deep_supervision_weights(2), outs)) / 3
    assert losses['loss_topo_malis'].item() == pytest.approx(expected.item(), rel=1e-5)
    regions = np.stack([topo_regions(t.numpy() > 0) for t in target])
    w_n, _ = topo_malis_maps(torch.relu(outs[0])[:, 0].detach().numpy(), target.numpy().astype(np.float32),
                             regions, 32)
    assert w_n.sum() == pytest.approx(2 * 2)  # separation acts: weights sum to 2 per window (2 images)
    losses['loss_topo_malis'].backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    # prediction: foreground exactly where the output exceeds 1e-5
    model.eval()
    with torch.no_grad():
        out = model.encode_decode(x, [])
        res = model.predict(x, samples)
    pred = torch.stack([r.pred_sem_seg.data[0] for r in res])
    assert torch.equal(pred.bool(), out[:, 0] > 1e-5)
    head = model.network.net.output_block.conv.conv
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(5e-6)               # every output 5e-6: background at 1e-5, foreground at 0
        assert not any(r.pred_sem_seg.data.any() for r in model.predict(x, samples))
        model.binary_threshold = 0.0
        assert all(r.pred_sem_seg.data.all() for r in model.predict(x, samples))
