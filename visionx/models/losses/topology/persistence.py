"""``PersistentHomologyLoss``: the persistent-homology "TopoLoss" of Hu et al. ("Topology-Preserving Deep
Image Segmentation", NeurIPS 2019) as compared in TopoMortar: ``L = CE + lam * L_topo`` with the topology term on after 70 % of training.

Needs ``gudhi`` (``pip install gudhi``, listed in requirements/runtime.txt); the module imports without it
and the loss raises an ``ImportError`` with that hint when called.
"""
from __future__ import annotations

import itertools

import numpy as np
import torch

from visionx.registry import MODELS
from visionx.utils.deprecation import register_deprecated_alias
from .common import TopologyLossBase, ce_term, gate_open, hard_labels, prepare


def _gudhi():
    try:
        import gudhi
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError('PersistentHomologyLoss needs persistent homology from gudhi: `pip install gudhi` '
                          '(listed in requirements/runtime.txt)') from err
    return gudhi


def critical_points(likelihood: np.ndarray, official: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dimension-0 persistence pairs of the super-level filtration of a 2-D or 3-D likelihood.

    The cubical complex takes ``1 - likelihood`` on its pixels, so foreground components are born at
    likelihood maxima and die at the saddles where they merge.  Only the finite (regular) pairs are used.

    Args:
        likelihood: (h, w) or (d, h, w) values in [0, 1].
        official: build the complex as the official code does, from the C-order flattened patch with
            ``dimensions=shape``.  gudhi reads ``dimensions`` with the first axis fastest, so a square
            patch is merely transposed (same pairs) but a non-square one (the 12-px edge patches of a 512
            image) is scrambled into a different image; the default reads the patch as it is.

    Returns:
        ``pd`` (n, 2) birth/death values of ``1 - likelihood``, and birth / death pixel coordinates
        (n, ndim).
    """
    gudhi = _gudhi()
    # official: float32 like the tensors it comes from (ties and thresholds then match exactly)
    f = 1.0 - np.asarray(likelihood, np.float32 if official else np.float64)
    if official:
        flat = f.ravel()
        cc = gudhi.CubicalComplex(dimensions=list(f.shape), top_dimensional_cells=flat)
        order = 'C'
    else:
        cc = gudhi.CubicalComplex(top_dimensional_cells=f)
        flat = f.ravel(order='F')  # gudhi indexes numpy input in Fortran order
        order = 'F'
    cc.compute_persistence(homology_coeff_field=2, min_persistence=0)
    regular, _ = cc.cofaces_of_persistence_pairs()
    if not len(regular) or len(regular[0]) == 0:
        empty = np.zeros((0, f.ndim), np.int64)
        return np.zeros((0, 2)), empty, empty
    pairs = np.asarray(regular[0])
    pd = np.stack([flat[pairs[:, 0]], flat[pairs[:, 1]]], 1)
    bcp = np.stack(np.unravel_index(pairs[:, 0], f.shape, order=order), 1)
    dcp = np.stack(np.unravel_index(pairs[:, 1], f.shape, order=order), 1)
    return pd, bcp, dcp


def match_diagrams(pd_lh: np.ndarray, pd_gt: np.ndarray, pers_thresh: float = 0.03,
                   pers_thresh_perfect: float = 0.99, official: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Hu et al.'s diagram matching: which predicted pairs to fix and which to remove.

    The ``n_gt`` most persistent predicted pairs are matched to the label's pairs ("to fix", unless already
    perfect, persistence > ``pers_thresh_perfect``); the rest with persistence > ``pers_thresh`` are
    noise "to remove".  By default ties in persistence keep the pairs' order and both lists are in
    decreasing persistence.  ``official=True`` reproduces the official ``compute_dgm_force`` exactly:
    ``np.argsort(pers)[::-1]`` (ties in reverse order) and lists built through Python sets, whose
    iteration order decides which write wins when two pairs share a pixel.
    """
    if len(pd_lh) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pers = np.abs(pd_lh[:, 1] - pd_lh[:, 0])
    n_gt = len(pd_gt)
    if official:
        if n_gt == 0:
            fix, remove = [], list(range(len(pers)))
        else:
            order = np.argsort(pers)[::-1]
            n_perfect = int((pers > pers_thresh_perfect).sum())
            perfect = order[:n_perfect] if n_perfect >= 1 else []
            fix = list(set(order[:n_gt]) - set(perfect))
            remove = order[n_gt:]
        remove = list(set(remove).intersection(set(np.where(pers > pers_thresh)[0])))
        return np.asarray(fix, np.int64), np.asarray(remove, np.int64)
    order = np.argsort(-pers, kind='stable')
    fix = np.array([i for i in order[:n_gt] if pers[i] <= pers_thresh_perfect], np.int64)
    remove = np.array([i for i in order[n_gt:] if pers[i] > pers_thresh], np.int64)
    return fix, remove


@torch.no_grad()
def topo_maps(likelihood: np.ndarray, gt: np.ndarray, topo_size: int = 50, pers_thresh: float = 0.03,
              pers_thresh_perfect: float = 0.99, official: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Weight and reference maps of one image or volume, patch by patch (non-overlapping patches).

    Default (correct, in likelihood space): a pair to fix gets its birth pixel pushed to 1 and its death
    pixel to 0 (a fully persistent component); a pair to remove gets birth and death pushed to each
    other's likelihood.  A label patch with a single component (no finite pair) makes every predicted
    pair above ``pers_thresh`` noise to remove, as in Hu et al.'s diagram matching.

    ``official=True`` reproduces the official code (``lib/losses.py``, ``TopoLoss._topoloss_2D/3D``)
    including its quirks (METHODS §3.5 #8): fix targets birth 0 / death 1; in "remove" writes the death
    pixel's weight and reference are both written without the patch offset (at the patch-local
    coordinates of the whole image); a patch is skipped when the label has no finite pair (single
    component) and only when the likelihood is all 0 or all 1; non-square patches are read scrambled
    (see :func:`critical_points`).

    Hu et al. define the loss on cubical complexes of any dimension (the official code has a 3-D branch);
    a 3-D volume is cut into ``topo_size``-sided cubes and each cube's 3-D cubical complex gives the
    dimension-0 pairs (components), exactly as the 2-D patches do.

    Args:
        likelihood: (H, W) or (D, H, W) foreground probability.
        gt: binary label of the same shape.

    Returns:
        ``weight`` and ``ref`` maps of that shape, float32.
    """
    weight = np.zeros(likelihood.shape, np.float32)
    ref = np.zeros(likelihood.shape, np.float32)
    birth_target, death_target = (0.0, 1.0) if official else (1.0, 0.0)
    for origin in itertools.product(*(range(0, n, topo_size) for n in likelihood.shape)):
        box = tuple(slice(o, o + topo_size) for o in origin)
        lh = likelihood[box]
        g = gt[box].astype(np.float64)
        if (g.min() == 1 or g.max() == 0) if official else g.min() == g.max():
            continue
        if (lh.min() == 1 or lh.max() == 0) if official else lh.min() == lh.max():
            continue
        pd_lh, bcp, dcp = critical_points(lh, official)
        pd_gt, _, _ = critical_points(g, official)
        if official and (len(pd_lh) == 0 or len(pd_gt) == 0):
            continue
        fix, remove = match_diagrams(pd_lh, pd_gt, pers_thresh, pers_thresh_perfect, official)
        o = np.asarray(origin)
        for i in fix:
            weight[tuple(o + bcp[i])] = 1
            ref[tuple(o + bcp[i])] = birth_target
            weight[tuple(o + dcp[i])] = 1
            ref[tuple(o + dcp[i])] = death_target
        death_origin = np.zeros_like(o) if official else o
        for i in remove:
            weight[tuple(o + bcp[i])] = 1
            ref[tuple(o + bcp[i])] = lh[tuple(dcp[i])]
            weight[tuple(death_origin + dcp[i])] = 1
            ref[tuple(death_origin + dcp[i])] = lh[tuple(bcp[i])]
    return weight, ref


def topo_loss(logits: torch.Tensor, target: torch.Tensor, lam: float = 100.0, topo_size: int = 50,
              pers_thresh: float = 0.03, pers_thresh_perfect: float = 0.99, active: bool = True,
              official: bool = False, ignore_index: int | None = 255) -> torch.Tensor:
    """``CE + lam * mean((p_fg * W - R)^2)`` with W/R from :func:`topo_maps` (``CE`` alone if inactive).

    Args:
        logits: (B, C, H, W) or (B, C, D, H, W).
        target: labels (B, *spatial) or soft labels (B, C, *spatial) (arg-maxed for the diagrams).
        lam: weight of the topology term (100).
        topo_size: patch side (50; cubes of that side in 3D).
        official: reproduce the official code: softmax applied twice, label taken from one-hot channel 0,
            and the patch handling of :func:`topo_maps`.
    """
    log_p, p, y, valid = prepare(logits, target, ignore_index)
    loss = ce_term(log_p, y, valid)
    if not active:
        return loss
    _gudhi()
    p_fg = torch.softmax(p, 1)[:, 1] if official else p[:, 1:].sum(1)
    y_hard = hard_labels(y)
    # official: the label is one-hot channel 0 as it is (soft labels stay soft, as in self-distillation)
    gt = (y[:, 0] if official else y_hard[:, 1:].any(1)).cpu().numpy()
    lh = p_fg.detach().float().cpu().numpy()
    maps = [topo_maps(lh[b], gt[b], topo_size, pers_thresh, pers_thresh_perfect, official)
            for b in range(lh.shape[0])]
    weight = torch.from_numpy(np.stack([m[0] for m in maps])).to(p.device)
    ref = torch.from_numpy(np.stack([m[1] for m in maps])).to(p.device)
    return loss + lam * ((p_fg * weight - ref) ** 2).mean()


@MODELS.register_module()
class PersistentHomologyLoss(TopologyLossBase):
    """CE + persistent-homology topology loss, gated by the training schedule (see :func:`topo_loss`).

    Called ``TopoLoss`` in TopoMortar and in VisionX before 2026-11; that name differs from TOPO's
    (:class:`~visionx.models.losses.topology.malis.ConnectivityMALISLoss`) only in case and is kept as a
    deprecated alias.

    Args:
        lam: weight of the topology term (TopoMortar: 100).
        topo_size: patch side (50; the last patch of a 512 image is 12 px wide).
        pers_thresh: persistence below which a spurious pair is left alone (0.03).
        pers_thresh_perfect: persistence above which a matched pair is already perfect (0.99).
        start_fraction: the topology term is on once ``(iter + 1) / max_iters > start_fraction`` (0.7),
            read from mmengine's ``MessageHub``.
        official: reproduce the official code's quirks (see :func:`topo_loss`).
    """

    def __init__(self, lam: float = 100.0, topo_size: int = 50, pers_thresh: float = 0.03,
                 pers_thresh_perfect: float = 0.99, start_fraction: float = 0.7, official: bool = False,
                 loss_weight: float = 1.0, loss_name: str = 'loss_topo_ph', reduction: str = 'mean',
                 ignore_index: int | None = 255):
        super().__init__(loss_weight, loss_name, reduction, ignore_index)
        self.lam, self.topo_size = lam, topo_size
        self.pers_thresh, self.pers_thresh_perfect = pers_thresh, pers_thresh_perfect
        self.start_fraction, self.official = start_fraction, official

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None,
                ignore_index=None, gate: bool | None = None, **kwargs) -> torch.Tensor:
        """``gate``: ``None`` follows the schedule; ``False``/``True`` force the topology term off/on."""
        self._check(weight, avg_factor, reduction_override)
        active = gate_open(self.start_fraction, gate)
        return self.loss_weight * topo_loss(pred, target, self.lam, self.topo_size, self.pers_thresh,
                                            self.pers_thresh_perfect, active, self.official,
                                            self._ignore(ignore_index))


TopoLoss = register_deprecated_alias(MODELS, PersistentHomologyLoss, 'TopoLoss')
