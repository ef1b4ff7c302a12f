"""3-D (B, C, D, H, W) support of the TopoMortar losses: simple points, thinning, warping, cbDice, PersistentHomologyLoss, TOPO."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage.measure import euler_number

from visionx.models.losses.topology import (CEDiceLoss, ConnectivityMALISLoss, PersistentHomologyLoss, RegionWiseLoss,
                                            SkeletonRecallLoss, WarpingLoss, cbDiceLoss, clDiceLoss)
from visionx.models.losses.topology.common import tubed_skeleton
from visionx.models.losses.topology.losses import _radius_maps
from visionx.models.losses.topology.digital import (_NEIGHBOUR_OFFSETS_3D, homotopic_warp, neighbourhood_codes,
                                                    simple_3d, topological_skeleton)
from visionx.models.losses.topology.malis import topo_malis_loss
from visionx.models.losses.topology.persistence import topo_maps
from visionx.models.losses.topology.warping import critical_mask, official_critical_mask


def _code(points) -> int:
    """26-bit code of a set of neighbour offsets."""
    return sum(1 << _NEIGHBOUR_OFFSETS_3D.index(tuple(p)) for p in points)


def _invariants(mask: np.ndarray) -> tuple[int, int, int]:
    """(26-components of the foreground, 6-components of the padded background, Euler characteristic)."""
    padded = np.pad(mask, 1)
    n_fg = ndimage.label(padded, np.ones((3, 3, 3)))[1]
    n_bg = ndimage.label(~padded, ndimage.generate_binary_structure(3, 1))[1]
    return n_fg, n_bg, int(euler_number(padded, connectivity=3))


def test_simple_3d_golden_configurations():
    face = [(0, 0, 1)]
    line = [(0, 0, -1), (0, 0, 1)]
    half_cube = [o for o in _NEIGHBOUR_OFFSETS_3D if o[0] <= 0]       # voxel on the flat top face of a block
    plate = [o for o in _NEIGHBOUR_OFFSETS_3D if o[0] == 0]           # centre of a one-voxel-thick plate
    codes = np.array([0, (1 << 26) - 1, _code(face), _code(line), _code(half_cube), _code(plate)])
    assert simple_3d(codes).tolist() == [False,   # isolated voxel: deleting it removes a component
                                         False,   # interior voxel: adding a cavity
                                         True,    # end of a line
                                         False,   # middle of a line: it would split
                                         True,    # boundary voxel of a solid block
                                         False]   # plate centre: punching a tunnel
    # the answer does not depend on the memo
    from visionx.models.losses.topology.digital import _evaluate_simple_3d
    assert _evaluate_simple_3d(codes).tolist() == simple_3d(codes).tolist()


def test_simple_3d_flips_preserve_topology():
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(6):
        mask = rng.random((6, 6, 6)) < 0.45
        padded = np.pad(mask, 1)
        coords = np.nonzero(np.ones_like(mask))
        simple = simple_3d(neighbourhood_codes(padded, coords))
        before = _invariants(mask)
        for z, y, x in zip(*(c[simple] for c in coords)):
            flipped = mask.copy()
            flipped[z, y, x] = ~flipped[z, y, x]
            assert _invariants(flipped) == before
            checked += 1
        # and some non-simple flips do change an invariant (a non-vacuous check)
        changes = 0
        for z, y, x in list(zip(*(c[~simple] for c in coords)))[:20]:
            flipped = mask.copy()
            flipped[z, y, x] = ~flipped[z, y, x]
            changes += _invariants(flipped) != before
        assert changes > 0
    assert checked > 100


def test_topological_skeleton_3d_keeps_a_torus():
    z, y, x = np.mgrid[:16, :24, :24]
    r = np.hypot(y - 11.5, x - 11.5)
    torus = (np.hypot(r - 7, z - 7.5) < 3.2)
    inv = _invariants(torus)
    assert inv == (1, 1, 0)  # one component, no cavity, one tunnel (chi = 1 - 1 + 0)
    skel = topological_skeleton(torus, 20)
    assert _invariants(skel) == inv
    assert skel.sum() < torus.sum() / 4
    # a shell with a cavity keeps its cavity
    shell = np.zeros((9, 9, 9), bool)
    shell[1:8, 1:8, 1:8] = True
    shell[3:6, 3:6, 3:6] = False
    assert _invariants(topological_skeleton(shell, 5)) == _invariants(shell) == (1, 2, 2)


def test_homotopic_warp_3d():
    rng = np.random.default_rng(1)
    for _ in range(3):
        a = rng.random((8, 10, 10)) < 0.3
        b = rng.random((8, 10, 10)) < 0.3
        assert _invariants(homotopic_warp(a, b)) == _invariants(a)
    small = np.zeros((10, 10, 10), bool)
    small[4:6, 4:6, 4:6] = True
    big = np.zeros_like(small)
    big[2:8, 1:9, 3:7] = True
    assert np.array_equal(homotopic_warp(small, big), big)  # same topology: the warp reaches the target


def test_critical_mask_3d_ring():
    gt = np.zeros((5, 9, 9), bool)
    gt[2, 2:7, 2:7] = True
    gt[2, 3:6, 3:6] = False   # a one-voxel-thick square ring in the middle slice
    pred = gt.copy()
    pred[2, 2, 4] = False     # cut
    crit = critical_mask(pred, gt)
    assert crit.sum() == 1 and crit[2, 2, 4]
    official = official_critical_mask(pred, gt)          # the official 3-D branch (6/26 patch test)
    assert official.sum() == 1 and official[2, 2, 4]
    thick = gt.copy()
    thick[1, 2:7, 2:7] = gt[2, 2:7, 2:7]   # a second layer: not a topological change
    assert not critical_mask(thick, gt).any()


def test_warping_loss_3d_hand_value():
    gt = np.zeros((5, 9, 9), bool)
    gt[2, 2:7, 2:7] = True
    gt[2, 3:6, 3:6] = False
    pred = gt.copy()
    pred[2, 2, 4] = False
    y = torch.from_numpy(gt).long()[None]
    fg = torch.from_numpy(np.where(pred, 2.0, -2.0)).float()[None, None]
    x = torch.cat([torch.zeros_like(fg), fg], 1)
    log_p = torch.log_softmax(x, 1)
    dice_only = WarpingLoss()(x, y, gate=False)
    with_warp = WarpingLoss()(x, y, gate=True)
    assert with_warp.item() == pytest.approx(dice_only.item() + 0.1 * -log_p[0, 1, 2, 2, 4].item() / gt.size,
                                             rel=1e-5)


def test_cbdice_3d_inverse_square_radius():
    mask = np.zeros((7, 7, 12), bool)
    mask[1:6, 1:6, :] = True                  # a 5x5 square tube along the last axis
    skel = np.zeros_like(mask)
    skel[3, 3, :] = True                      # its centre line, radius 3
    skel[2, 3, :] = True                      # an off-centre line, radius 2
    d_n, r_n, inv = _radius_maps(mask, skel.astype(np.float32))
    assert r_n[3, 3, 5] == pytest.approx(1.0) and r_n[2, 3, 5] == pytest.approx(2 / 3)
    assert inv[3, 3, 5] == pytest.approx(1.0) and inv[2, 3, 5] == pytest.approx(9 / 4, rel=1e-5)
    assert inv[1, 1, 5] == 0 and d_n[1, 1, 5] == pytest.approx(1 / 3)
    # 2-D keeps 1/R
    _, _, inv2 = _radius_maps(mask[:, :, 5], skel[:, :, 5].astype(np.float32))
    assert inv2[2, 3] == pytest.approx(3 / 2, rel=1e-5)


def _tube_label(b: int = 1) -> torch.Tensor:
    y = torch.zeros(b, 8, 16, 16, dtype=torch.long)
    y[:, 2:6, 6:10, :] = 1
    y[:, 2:6, :, 6:10] = 1
    return y


def test_cbdice_3d_orders_predictions():
    y = _tube_label()
    good = torch.stack([-(y.float() * 2 - 1), y.float() * 2 - 1], 1) * 6
    loss = cbDiceLoss()
    assert loss(good, y).item() < loss(-good, y).item()
    half = good.clone()
    half[:, :, :, :, 8:] = -half[:, :, :, :, 8:]
    assert loss(good, y).item() < loss(half, y).item() < loss(-good, y).item()


def test_topoloss_3d_depth_one_equals_2d():
    torch.manual_seed(0)
    x = torch.randn(2, 2, 20, 20) * 2
    y = torch.zeros(2, 20, 20, dtype=torch.long)
    y[:, 5:15, 8:11] = 1
    loss = PersistentHomologyLoss(topo_size=10)
    v2 = loss(x, y, gate=True)
    v3 = loss(x[:, :, None], y[:, None], gate=True)
    assert v3.item() == pytest.approx(v2.item(), rel=1e-6)
    assert v2.item() > PersistentHomologyLoss(topo_size=10)(x, y, gate=False).item()


def test_topoloss_3d_maps_by_hand():
    # one patch, likelihood with two separate maxima; the label has one component
    lh = np.full((4, 5, 6), 0.1)
    lh[1, 1, 1] = 0.9
    lh[2, 3, 4] = 0.8
    gt = np.zeros(lh.shape, bool)
    gt[1, 1, 1] = True
    weight, ref = topo_maps(lh, gt, topo_size=10)
    # pairs: (0.9 born at [1,1,1], infinite) is essential and not used; (0.8 born at [2,3,4], dies at 0.1):
    # n_gt = 0 regular pairs in the label -> it is noise to remove: birth -> lh(death), death -> lh(birth)
    assert weight[2, 3, 4] == 1 and ref[2, 3, 4] == pytest.approx(0.1)
    death = np.argwhere(weight == 1)
    assert len(death) == 2
    other = [tuple(p) for p in death if tuple(p) != (2, 3, 4)][0]
    assert lh[other] == pytest.approx(0.1) and ref[other] == pytest.approx(0.8)


def test_topo_malis_3d_uses_projections():
    # two thick slabs separated along W; the prediction bridges them in one place
    y = torch.zeros(1, 6, 40, 40, dtype=torch.long)
    y[:, :, :, :17] = 1
    y[:, :, :, 23:] = 1
    x = (y.float() * 5)[:, None].clone()
    x[0, 0, 3, 20, 17:23] = 4.0   # bridge in one slice
    x.requires_grad_(True)
    loss3 = topo_malis_loss(x, y, alpha=0.0, projection_axes=(0,))
    # equals the 2-D loss on the projection along D
    proj = x.detach().amax(2)
    loss2 = topo_malis_loss(proj, y.any(1).long(), alpha=0.0)
    assert loss3.item() == pytest.approx(loss2.item(), rel=1e-6) and loss3.item() > 0
    loss3.backward()
    assert (x.grad[0, 0, 3, 20, 17:23] > 0).any()      # the weakest bridge link is pushed down
    assert x.grad[0, 0, 3].clone().index_put_((torch.tensor([20]),), torch.zeros(1, 40)).abs().sum() == 0
    assert x.grad[0, 0, [0, 1, 2, 4, 5]].abs().sum() == 0  # other slices: not on the projection
    # full loss: MSE on the volume plus all three projections
    full = ConnectivityMALISLoss()(x, y)
    assert torch.isfinite(full)


ALL_3D = {
    'ce_dice': (CEDiceLoss, 2), 'cldice': (clDiceLoss, 2), 'skel_recall': (SkeletonRecallLoss, 2),
    'region_wise': (RegionWiseLoss, 2), 'cbdice': (cbDiceLoss, 2), 'warping': (WarpingLoss, 2),
    'topoloss': (lambda: PersistentHomologyLoss(topo_size=8), 2), 'topo': (lambda: ConnectivityMALISLoss(window=8, dilate_iterations=1), 1),
}


@pytest.mark.parametrize('name', sorted(ALL_3D))
@pytest.mark.parametrize('case', ['random', 'all_background', 'all_foreground', 'empty_skeleton'])
def test_3d_finite_nonzero_gradients(name, case):
    torch.manual_seed(0)
    factory, channels = ALL_3D[name]
    y = _tube_label(2)
    if case == 'all_background':
        y.zero_()
    elif case == 'all_foreground':
        y.fill_(1)
    elif case == 'empty_skeleton':
        y[0].zero_()  # image 0 has no foreground, hence an empty skeleton; image 1 keeps its tube
        assert tubed_skeleton(y[0].numpy()).sum() == 0 and tubed_skeleton(y[1].numpy()).sum() > 0
    x = torch.randn(2, channels, *y.shape[1:], requires_grad=True)
    kwargs = {'gate': True} if name in ('warping', 'topoloss') else {}
    value = factory()(x, y, **kwargs)
    value.backward()
    assert torch.isfinite(value)
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
