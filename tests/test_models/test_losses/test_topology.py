"""TopoMortar losses: hand-computed values, gradients, degenerate batches, schedule gate."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from visionx.models.losses.topology import (CEDiceLoss, RegionWiseLoss, SkeletonRecallLoss, WarpingLoss,
                                            cbDiceLoss, clDiceLoss)
from visionx.models.losses.topology.losses import region_wise_map
from visionx.models.losses.topology.common import (gate_open, soft_skeleton,
                                                   topological_skeleton, tubed_skeleton)
from visionx.models.losses.topology.digital import simple_point_lut
from visionx.models.losses.topology.warping import critical_mask, homotopic_warp
from visionx.evaluation.metrics.topology import betti_numbers

LOSSES = {
    'ce_dice': lambda: CEDiceLoss(),
    'cldice': lambda: clDiceLoss(),
    'skel_recall': lambda: SkeletonRecallLoss(),
    'cbdice': lambda: cbDiceLoss(),
    'region_wise': lambda: RegionWiseLoss(),
    'warping': lambda: WarpingLoss(),
}
GATED = {'warping'}


def _grid_labels(b: int = 2, size: int = 32) -> torch.Tensor:
    y = torch.zeros(b, size, size, dtype=torch.long)
    y[:, ::8] = 1
    y[:, :, ::8] = 1
    return y


def _call(name, loss, x, y):
    return loss(x, y, gate=True) if name in GATED else loss(x, y)


def test_ce_dice_hand_value():
    # zero logits -> p = 0.5 everywhere; CE = log 2.  One image 1x2: labels [0, 1].
    x = torch.zeros(1, 2, 1, 2)
    y = torch.tensor([[[0, 1]]])
    # Dice per class: (2*0.5 + 1e-5) / (1 + 1 + 1e-5) for both classes
    d = (1 + 1e-5) / (2 + 1e-5)
    assert CEDiceLoss()(x, y).item() == pytest.approx(math.log(2) + 1 - d, rel=1e-6)
    assert CEDiceLoss(lambda_ce=2, lambda_dice=0)(x, y).item() == pytest.approx(2 * math.log(2), rel=1e-6)


def test_sigmoid_and_soft_labels_match_softmax():
    torch.manual_seed(0)
    x1 = torch.randn(2, 1, 16, 16)
    x2 = torch.cat([torch.zeros_like(x1), x1], 1)  # softmax([0, x]) = sigmoid(x)
    y = (torch.rand(2, 16, 16) > 0.5).long()
    soft = torch.nn.functional.one_hot(y, 2).permute(0, 3, 1, 2).float()
    for name in ('ce_dice', 'cldice', 'skel_recall', 'region_wise'):
        loss = LOSSES[name]()
        a, b, c = loss(x1, y), loss(x2, y), loss(x2, soft)
        assert a.item() == pytest.approx(b.item(), rel=1e-5), name
        assert b.item() == pytest.approx(c.item(), rel=1e-5), name


def test_cldice_hand_value_perfect_prediction():
    # A saturated, correct prediction: Dice ~ 1 and soft skeletons of p and y coincide -> loss ~ 0.
    y = _grid_labels(1)
    x = (y.float() * 2 - 1)[:, None] * 50
    x = torch.cat([-x, x], 1)
    assert clDiceLoss()(x, y).item() == pytest.approx(0.0, abs=1e-4)
    # uniform p = 0.5 against four separate 1-px lines (rows 4, 12, 20, 28, columns 2..29, off the border).
    # By hand: the soft opening of a constant map is the map, so skel(p) = 0 and Tprec = (0 + 1) / (0 + 1) = 1;
    # a 1-px line erodes to nothing, so its soft skeleton is the line itself and
    # Tsens = (0.5 |line| + 1) / (|line| + 1) with |line| = 4 * 28 = 112.
    y = torch.zeros(1, 32, 32, dtype=torch.long)
    y[0, 4::8, 2:30] = 1
    xz = torch.zeros(1, 2, 32, 32)
    n1 = 112.0
    assert float(y.sum()) == n1
    tprec, tsens = 1.0, (0.5 * n1 + 1) / (n1 + 1)
    cl = torch.tensor(2 * tprec * tsens / (tprec + tsens))
    n = 32 * 32
    dice = 1 - 0.5 * ((2 * 0.5 * n1 + 1e-5) / (n1 + 0.5 * n + 1e-5) + (2 * 0.5 * (n - n1) + 1e-5) / (n - n1 + 0.5 * n + 1e-5))
    assert clDiceLoss()(xz, y).item() == pytest.approx(0.5 * dice + 0.5 * (1 - cl.item()), rel=1e-5)


def test_soft_skeleton_of_binary_line_is_its_centre():
    x = torch.zeros(1, 1, 9, 9)
    x[..., 3:6, :] = 1  # a horizontal bar 3 px thick
    skel = soft_skeleton(x, 3)[0, 0]
    expected = torch.zeros(9, 9)
    expected[4] = 1  # the bar's centre row, everything else 0
    torch.testing.assert_close(skel, expected)


def test_skeleton_recall_hand_value():
    # One image, labels: a 1-px horizontal line of 10 px.  Its skeleton is the line, and the tube (dilated
    # skeleton cut to the label) is the line again: |T| = 10.
    y = torch.zeros(1, 12, 12, dtype=torch.long)
    y[0, 5, 1:11] = 1
    tube = torch.from_numpy(tubed_skeleton(y[0].numpy())).float()
    torch.testing.assert_close(tube, y[0].float())
    x = torch.zeros(1, 2, 12, 12)  # p_fg = 0.5 -> recall = (0.5 * |T| + s) / (|T| + s)
    s = 1e-5
    recall = (0.5 * tube.sum() + s) / (tube.sum() + s)
    expected = math.log(2) + (1 - recall.item())
    assert SkeletonRecallLoss()(x, y).item() == pytest.approx(expected, rel=1e-5)
    # a precomputed skeleton gives the same value
    assert SkeletonRecallLoss()(x, y, skeleton=tube[None]).item() == pytest.approx(expected, rel=1e-5)


def test_region_wise_map_and_value():
    y = torch.zeros(1, 5, 5, dtype=torch.long)
    y[0, 1:4, 1:4] = 1
    onehot = torch.nn.functional.one_hot(y, 2).permute(0, 3, 1, 2).float()
    phi = region_wise_map(onehot)
    # foreground channel: centre pixel has EDT 2, max 2 -> -1; the 8 ring pixels EDT 1 -> -0.5; outside +1
    assert phi[0, 1, 2, 2].item() == -1.0
    assert phi[0, 1, 1, 1].item() == -0.5
    assert phi[0, 1, 0, 0].item() == 1.0
    assert phi[0, 0, 2, 2].item() == 1.0
    x = torch.zeros(1, 2, 5, 5)  # p = 0.5
    assert RegionWiseLoss()(x, y).item() == pytest.approx(0.5 * phi.mean().item(), rel=1e-6)


def _broken_ring() -> tuple[np.ndarray, np.ndarray]:
    """A 5x5 square ring (label) and the same ring cut at pixel (2, 4) (prediction)."""
    gt = np.zeros((9, 9), bool)
    gt[2:7, 2:7] = True
    gt[3:6, 3:6] = False
    pred = gt.copy()
    pred[2, 4] = False
    return gt, pred


def test_warping_hand_value_and_gate():
    # GT: a ring; prediction: the same ring broken at one pixel -> that pixel is critical, the rest not.
    gt, pred = _broken_ring()
    crit = critical_mask(pred, gt)
    assert crit.sum() == 1 and crit[2, 4]
    # a non-topological error (a thicker ring) is not critical
    thick = gt.copy()
    thick[1, 2:7] = True
    assert not critical_mask(thick, gt).any()
    y = torch.from_numpy(gt).long()[None]
    logits = torch.from_numpy(np.where(pred, 2.0, -2.0)).float()[None, None]
    x = torch.cat([torch.zeros_like(logits), logits], 1)
    log_p = torch.log_softmax(x, 1)
    dice_only = WarpingLoss()(x, y, gate=False)
    with_warp = WarpingLoss()(x, y, gate=True)
    assert with_warp.item() == pytest.approx(dice_only.item() + 0.1 * -log_p[0, 1, 2, 4].item() / 81, rel=1e-5)


def test_homotopic_warp_keeps_topology():
    rng = np.random.default_rng(0)
    for _ in range(5):
        a = rng.random((24, 24)) > 0.5
        b = rng.random((24, 24)) > 0.5
        w = homotopic_warp(a, b)
        assert betti_numbers(w) == betti_numbers(a)


def test_topological_skeleton_preserves_topology():
    m = np.zeros((30, 30), bool)
    m[5:25, 5:25] = True
    m[12:18, 12:18] = False
    sk = topological_skeleton(m, 20)
    assert betti_numbers(sk) == betti_numbers(m) == (1, 1)
    assert sk.sum() < m.sum() / 2
    # simple-point LUT: isolated pixel and interior pixel are not simple, an edge pixel of a bar is
    lut = simple_point_lut()
    assert not lut[0] and not lut[255] and lut[0b00000111]


def test_cbdice_perfect_lower_than_wrong():
    y = _grid_labels(1)
    good = torch.cat([-(y.float() * 2 - 1), y.float() * 2 - 1], 0)[None] * 8
    bad = -good
    loss = cbDiceLoss()
    assert loss(good, y).item() < loss(bad, y).item()


@pytest.mark.parametrize('name', sorted(LOSSES))
@pytest.mark.parametrize('case', ['random', 'all_background', 'all_foreground', 'empty_skeleton'])
def test_finite_nonzero_gradients(name, case):
    torch.manual_seed(0)
    b, size = 2, 32
    y = _grid_labels(b, size)
    if case == 'all_background':
        y = torch.zeros_like(y)
    elif case == 'all_foreground':
        y = torch.ones_like(y)
    elif case == 'empty_skeleton':
        y[0] = 0  # a batch where one image has no foreground, hence an empty skeleton
        assert tubed_skeleton(y[0].numpy()).sum() == 0 and tubed_skeleton(y[1].numpy()).sum() > 0
    x = torch.randn(b, 2, size, size, requires_grad=True)
    loss = _call(name, LOSSES[name](), x, y)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0


def test_3d_losses():
    torch.manual_seed(0)
    x = torch.randn(1, 2, 8, 16, 16, requires_grad=True)
    y = torch.zeros(1, 8, 16, 16, dtype=torch.long)
    y[:, 2:6, 6:10, :] = 1
    for loss in (CEDiceLoss(), clDiceLoss(), SkeletonRecallLoss(), RegionWiseLoss()):
        v = loss(x, y)
        v.backward()
        assert torch.isfinite(v) and x.grad.abs().sum() > 0
        x.grad = None


def test_bad_inputs():
    x = torch.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match='255'):
        CEDiceLoss(ignore_index=None)(x, torch.full((1, 4, 4), 255))
    with pytest.raises(ValueError, match='does not match'):
        CEDiceLoss()(x, torch.zeros(1, 5, 5, dtype=torch.long))
    with pytest.raises(ValueError, match='loss_'):
        CEDiceLoss(loss_name='ce')
    with pytest.raises(ValueError, match='reduction'):
        clDiceLoss(reduction='sum')
    with pytest.raises(ValueError, match='avg_factor'):
        CEDiceLoss()(x, torch.zeros(1, 4, 4, dtype=torch.long), avg_factor=3)


def test_ignore_index_excludes_pixels():
    torch.manual_seed(0)
    x = torch.randn(1, 2, 8, 8)
    y = (torch.rand(1, 8, 8) > 0.5).long()
    y2 = y.clone()
    y2[:, :, 4:] = 255
    full = CEDiceLoss()(x[..., :4], y[..., :4])
    ignored = CEDiceLoss()(x, y2)
    assert ignored.item() == pytest.approx(full.item(), rel=1e-5)


def test_gate_reads_message_hub():
    from mmengine.logging import MessageHub
    from visionx.utils.progress import PROGRESS_KEY
    hub = MessageHub.get_instance('topology_gate_test')
    hub.update_info(PROGRESS_KEY, 0.5)
    assert not gate_open(0.7, None)
    hub.update_info(PROGRESS_KEY, 0.71)
    assert gate_open(0.7, None)
    assert not gate_open(0.7, False) and gate_open(0.7, True)
    hub.pop_info(PROGRESS_KEY)
    hub.update_info('iter', 69)
    hub.update_info('max_iters', 100)
    assert not gate_open(0.7, None)  # (69 + 1) / 100 = 0.7 is not > 0.7
    hub.update_info('iter', 70)
    assert gate_open(0.7, None)
    hub.pop_info('iter')
    hub.pop_info('max_iters')


def test_topoloss_hand_value():
    pytest.importorskip('gudhi')
    from visionx.models.losses.topology import PersistentHomologyLoss
    from visionx.models.losses.topology.persistence import critical_points, topo_maps
    # likelihood with two bumps, label with one component: the weaker bump must be removed.
    lh = np.full((10, 10), 0.1)
    lh[2, 2] = 0.9
    lh[7, 7] = 0.6
    pd, bcp, dcp = critical_points(lh)
    assert len(pd) == 1 and tuple(bcp[0]) == (7, 7)
    gt = np.zeros((10, 10))
    gt[1:4, 1:4] = 1
    w, r = topo_maps(lh, gt, topo_size=50)
    # by hand: the extra bump is born at (7, 7) with 0.6 and dies on the 0.1 background; the maps push its
    # birth down to 0.1 and its death pixel up to 0.6, and touch nothing else
    death = tuple(dcp[0])
    assert lh[death] == 0.1 and death != (7, 7)
    assert sorted(map(tuple, np.argwhere(w))) == sorted([(7, 7), death])
    assert r[7, 7] == pytest.approx(0.1) and r[death] == pytest.approx(0.6)
    # loss value: CE + 100 * mean((p w - r)^2) = CE + 100 * ((0.6 - 0.1)^2 + (0.1 - 0.6)^2) / 100
    x = torch.from_numpy(np.log(lh / (1 - lh))).float()[None, None]
    x2 = torch.cat([torch.zeros_like(x), x], 1).requires_grad_(True)
    y = torch.from_numpy(gt).long()[None]
    ce = torch.nn.functional.cross_entropy(x2, y)
    expected = ce.item() + 100 * (0.5 ** 2 + 0.5 ** 2) / 100
    v = PersistentHomologyLoss()(x2, y, gate=True)
    assert v.item() == pytest.approx(expected, rel=1e-5)
    v.backward()
    assert torch.isfinite(x2.grad).all() and x2.grad.abs().sum() > 0
    for yy in (torch.zeros_like(y), torch.ones_like(y)):
        assert torch.isfinite(PersistentHomologyLoss()(x2, yy, gate=True))


def test_label_maps_are_cached_per_target_and_refreshed():
    torch.manual_seed(0)
    y = _grid_labels(1)
    x = torch.randn(1, 2, 32, 32)
    for cls in (SkeletonRecallLoss, cbDiceLoss, RegionWiseLoss):
        loss = cls()
        a = loss(x, y)
        assert loss._cache[0] is y
        first = loss._cache[2]
        assert loss(x, y).item() == pytest.approx(a.item()) and loss._cache[2] is first
        y2 = y.clone()
        y2[:, 10:20, 10:20] = 1          # a new label tensor -> new maps
        b = loss(x, y2)
        assert loss._cache[2] is not first
        assert b.item() == pytest.approx(cls()(x, y2).item(), rel=1e-6)
        y2[:, 0:4] = 0                    # in-place change bumps the version -> recomputed
        assert loss(x, y2).item() == pytest.approx(cls()(x, y2).item(), rel=1e-6)


def _grid(rows):
    return np.array([[c == '#' for c in r] for r in rows])


def test_topological_skeleton_matches_menten_skeletonize():
    """Golden output of Menten et al.'s Skeletonize (as used by cbDice, 5 iterations) on a holed block.

    End points are fixed once per iteration and the sub-fields run in Menten's order; re-checking end
    points inside every sub-field (an earlier VisionX version) leaves spurs into the corners.
    """
    mask = _grid(['............', '.##########.', '.##########.', '.###...####.', '.###...####.',
                  '.##########.', '.##########.', '....#######.', '............'])
    expected = _grid(['............', '............', '...######...', '..#......#..', '..#......#..',
                      '...#...##...', '....###.....', '............', '............'])
    assert np.array_equal(topological_skeleton(mask, 5), expected)


def test_topoloss_official_patch_handling():
    pytest.importorskip('gudhi')
    from visionx.models.losses.topology.persistence import critical_points, topo_maps
    lh = np.full((20, 20), 0.1)
    gt = np.zeros((20, 20))
    # patch (10:20, 10:20): the label has two components, the likelihood three bumps -> one to remove
    gt[11:13, 11:13] = 1
    gt[16:18, 16:18] = 1
    lh[12, 12], lh[17, 17], lh[12, 17] = 0.9, 0.8, 0.5
    w, r = topo_maps(lh, gt, topo_size=10)
    w_off, r_off = topo_maps(lh, gt, topo_size=10, official=True)
    pd, bcp, dcp = critical_points(lh[10:, 10:])
    k = int(np.argmin(pd[:, 1] - pd[:, 0]))          # the weakest pair is the one to remove
    assert tuple(bcp[k]) == (2, 7)
    death = tuple(dcp[k])
    # default: both writes inside the patch
    assert w[12, 17] == 1 and r[12, 17] == pytest.approx(lh[10 + death[0], 10 + death[1]])
    assert w[10 + death[0], 10 + death[1]] == 1 and r[10 + death[0], 10 + death[1]] == pytest.approx(0.5)
    # official: the birth write is offset, the death write (weight and reference) is not
    assert w_off[12, 17] == 1
    assert w_off[death] == 1 and r_off[death] == pytest.approx(0.5)
    assert w_off[:10, :10].sum() == 1                             # patch (0, 0) has no label: only the stray write
    # a label patch with one component: the official code skips it, the default removes the extra bump
    gt1 = np.zeros((10, 10))
    gt1[1:4, 1:4] = 1
    lh1 = np.full((10, 10), 0.1)
    lh1[2, 2], lh1[7, 7] = 0.9, 0.6
    assert topo_maps(lh1, gt1, topo_size=10)[0].sum() == 2
    assert topo_maps(lh1, gt1, topo_size=10, official=True)[0].sum() == 0


def test_topoloss_official_reads_non_square_patches_scrambled():
    pytest.importorskip('gudhi')
    from visionx.models.losses.topology.persistence import critical_points
    rng = np.random.default_rng(0)
    square = rng.random((10, 10))
    a, b = critical_points(square), critical_points(square, official=True)
    assert np.allclose(np.sort(a[0], 0), np.sort(b[0], 0))       # square: transposed, same diagram
    tall = np.full((50, 12), 0.05)
    for y0 in (5, 20, 35):                                         # three separate blobs
        tall[y0:y0 + 6, 3:9] = 0.9
    assert len(critical_points(tall)[0]) == 2                      # read as it is: 3 components
    assert len(critical_points(tall, official=True)[0]) != 2       # the official reading scrambles it


def test_warping_official_mode():
    from visionx.models.losses.topology.warping import _official_flip_lut_2d, official_critical_mask
    # the official patch test is a heuristic: it would flip an isolated pixel (deleting a component)
    assert _official_flip_lut_2d()[1 << 4] and not simple_point_lut()[0]
    gt, pred = _broken_ring()
    crit = official_critical_mask(pred, gt)
    assert crit.sum() == 1 and crit[2, 4]
    # the whole official loss: label from channel 0 (background), CE value with the masked constant
    y = torch.from_numpy(gt).long()[None]
    fg = torch.from_numpy(np.where(pred, 2.0, -2.0)).float()[None, None]
    x = torch.cat([torch.zeros_like(fg), fg], 1)
    p = torch.softmax(x, 1)[0].numpy()
    m = official_critical_mask(pred, ~gt).astype(np.float64)
    t1 = (gt * m).astype(np.float64)
    warp = -np.mean((1 - t1) * np.log(p[0] * m + 1e-15)) - np.mean(t1 * np.log(p[1] * m + 1e-15))
    dice_only = WarpingLoss()(x, y, gate=False).item()
    assert WarpingLoss(official=True)(x, y, gate=True).item() == pytest.approx(dice_only + 0.1 * warp, rel=1e-5)


def test_region_wise_soft_label_maps():
    from visionx.models.losses.topology.losses import official_soft_region_wise_map
    y_fg = torch.tensor([[0.95, 0.5, 0.05, 0.0]]).view(1, 1, 1, 4)
    soft = torch.cat([1 - y_fg, y_fg], 1)
    phi = region_wise_map(soft, soft=True)[0, :, 0]
    # thresholded map: -y, and 1 in the channel of the other class where the label is confident
    assert phi[0].tolist() == pytest.approx([1.0, -0.5, -0.95, -1.0])
    assert phi[1].tolist() == pytest.approx([-0.95, -0.5, 1.0, 1.0])
    # the official forward: distance transform of the non-zero probabilities, -d / max d, 1 where 0
    off = official_soft_region_wise_map(soft)[0, :, 0]
    assert off[1].tolist() == pytest.approx([-1.0, -2 / 3, -1 / 3, 1.0])   # distances 3, 2, 1 to the zero
    assert off[0, 3].item() == pytest.approx(-1.0) and off[0, 0].item() < 0  # no zero in channel 0
    x = torch.zeros(1, 2, 1, 4, requires_grad=True)
    for mode, ref in (('thresholded', phi), ('official', off)):
        v = RegionWiseLoss(soft_map=mode)(x, soft)
        assert v.item() == pytest.approx(0.5 * ref.mean().item(), rel=1e-6)
    with pytest.raises(ValueError, match='soft_map'):
        RegionWiseLoss(soft_map='fuzzy')


def test_topoloss_official_tie_order_golden():
    """Official mode breaks persistence ties and shared pixels as ``compute_dgm_force`` (reverse argsort,
    Python sets).  Golden values from a transcription of the official ``_topoloss_2D``."""
    pytest.importorskip('gudhi')
    from visionx.models.losses.topology.persistence import topo_maps
    fg = np.zeros((50, 50), np.float32)
    fg[5:12, 5:12] = 1
    fg[30:40, 5:12] = 1
    fg[20:28, 30:45] = 1                                   # three saturated blobs: equal persistences
    lh = torch.softmax(torch.stack([torch.from_numpy(1 - fg), torch.from_numpy(fg)]), 0)[1].numpy()
    ring = np.zeros((50, 50), bool)
    ring[10:40, 10:40] = True
    ring[15:35, 15:35] = False
    w, r = topo_maps(lh, (~ring).astype(np.float32), 50, official=True)   # official label: channel 0
    pixels = sorted(zip(*np.nonzero(w)))
    assert pixels == [(11, 11), (19, 29), (27, 44), (29, 4)]
    np.testing.assert_allclose([r[p] for p in pixels], [0.26894143, 0.7310586, 0.0, 1.0], rtol=1e-6)


def test_cbdice_hand_value():
    """cbDice on a 5x10 plus-shaped GT and a shifted line prediction, every map derived by hand.

    GT: row 2, cols 1..7, plus (1, 4) and (3, 4).  Its skeleton (Menten et al., end points kept) is the row:
    (1, 4) and (3, 4) each see 3 neighbours (not end points) and are simple, so they are deleted; the row's
    interior pixels are not simple and its end pixels are end points.  EDT: 1 on the mask except sqrt(2) at
    (2, 4) (its nearest background pixel is diagonal).  So R_max = sqrt(2); d_n = 1/sqrt(2) on the mask, 1
    at (2, 4); R_n = d_n on the skeleton; I = (1 + 1e-7) / (R_n + 1e-7) on the skeleton.
    Prediction: logits (0, 2) on row 2, cols 3..8 (p = a = sigmoid(2)) and (0, -1) elsewhere (p = b):
    the hard mask is a 1-px line, its own skeleton, with EDT 1, so d_n = R_n = I = 1 on it.
    """
    h, w = 5, 10
    y = torch.zeros(1, h, w, dtype=torch.long)
    y[0, 2, 1:8] = 1
    y[0, 1, 4] = y[0, 3, 4] = 1
    x = torch.zeros(1, 2, h, w)
    x[0, 1] = -1.0
    x[0, 1, 2, 3:9] = 2.0
    a, b = 1 / (1 + math.exp(-2.0)), 1 / (1 + math.exp(1.0))
    r2 = math.sqrt(2)
    inv = (1 + 1e-7) / (1 / r2 + 1e-7)  # I on the GT skeleton away from (2, 4)
    # weighted precision: predicted skeleton cols 3..8; col 8 lies outside the GT (combine falls back to a*a)
    w_prec = (a * (4 / r2 + 1) + 1) / (a * (4 / r2 + 1) + a * a + 1)
    # weighted sensitivity: GT skeleton cols 1..7; cols 1, 2 are missed (combine falls back to R_n * I)
    w_sens = (a * (4 * inv + 1) + 1) / (a * (4 * inv + 1) + 2 * inv / r2 + 1)
    cb = 1 - 2 * w_prec * w_sens / (w_prec + w_sens)
    # CE over 50 pixels: 5 fg predicted in, 4 fg predicted out, 1 bg predicted in, 40 bg predicted out
    ce = (-5 * math.log(a) - 4 * math.log(b) - math.log(1 - a) - 40 * math.log(1 - b)) / 50
    s = 1e-5
    dice_fg = (2 * (5 * a + 4 * b) + s) / (9 + 6 * a + 44 * b + s)
    dice_bg = (2 * ((1 - a) + 40 * (1 - b)) + s) / (41 + 6 * (1 - a) + 44 * (1 - b) + s)
    dice = 1 - (dice_fg + dice_bg) / 2
    expected = 0.5 * ce + 0.25 * dice + 0.25 * cb
    assert cbDiceLoss()(x, y).item() == pytest.approx(expected, rel=1e-5)
    # alpha = 0 leaves CE and cbDice with weights 0.5 / 0.5
    assert cbDiceLoss(alpha=0.0)(x, y).item() == pytest.approx(0.5 * ce + 0.5 * cb, rel=1e-5)
