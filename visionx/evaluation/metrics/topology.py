"""Topology metrics of TopoMortar: Dice, HD95, Betti-0/1 errors (global and on 128-px windows), clDice,
reported per test group and as in-distribution (ID) / out-of-distribution (OOD).

Reference: J. M. Valverde et al., "TopoMortar", BMVC 2025 (arXiv 2503.03365); metrics as in its
``lib/metrics.py`` (MedPy Dice/HD95, gudhi cubical Betti numbers, skimage clDice).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from scipy import ndimage

from visionx.registry import METRICS
from visionx.utils.topology import betti_numbers  # noqa: F401  (re-exported)

_EIGHT = np.ones((3, 3), bool)
_FOUR = ndimage.generate_binary_structure(2, 1)
METRIC_NAMES = ('Dice', 'clDice', 'Betti0Error', 'Betti1Error', 'Betti0ErrorLocal', 'Betti1ErrorLocal',
                'HD95')


def betti_errors(pred: np.ndarray, gt: np.ndarray, official_empty: bool = False) -> tuple[int, int]:
    """``(|b0(pred) - b0(gt)|, |b1(pred) - b1(gt)|)`` (``official_empty``: see :func:`betti_numbers`)."""
    (p0, p1), (g0, g1) = betti_numbers(pred, official_empty), betti_numbers(gt, official_empty)
    return abs(p0 - g0), abs(p1 - g1)


def local_betti_errors(pred: np.ndarray, gt: np.ndarray, window: int = 128,
                       official_empty: bool = False) -> tuple[float, float]:
    """Betti errors averaged over non-overlapping ``window`` x ``window`` tiles (edge tiles included)."""
    errs = [betti_errors(pred[y:y + window, x:x + window], gt[y:y + window, x:x + window], official_empty)
            for y in range(0, gt.shape[0], window) for x in range(0, gt.shape[1], window)]
    e = np.asarray(errs, np.float64)
    return float(e[:, 0].mean()), float(e[:, 1].mean())


def dice(pred: np.ndarray, gt: np.ndarray) -> float:
    """MedPy ``dc``: ``2|A & B| / (|A| + |B|)``, 0 when both are empty."""
    pred, gt = pred > 0, gt > 0
    denom = pred.sum() + gt.sum()
    return float(2 * (pred & gt).sum() / denom) if denom else 0.0


def _surface_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    border_a = a ^ ndimage.binary_erosion(a, _FOUR, iterations=1)
    border_b = b ^ ndimage.binary_erosion(b, _FOUR, iterations=1)
    return ndimage.distance_transform_edt(~border_b)[border_a]


def hd95(pred: np.ndarray, gt: np.ndarray, empty_value: float | None = None) -> float:
    """MedPy ``hd95``: 95th percentile of the symmetric border-to-border distances (unit spacing).

    MedPy raises on an empty mask and TopoMortar stores 9 999 999, replaced in its tables by the image
    diagonal (722.66 at 512 px); ``empty_value`` (default: this image's diagonal) is returned instead.
    """
    pred, gt = pred > 0, gt > 0
    if not pred.any() or not gt.any():
        # the largest distance between two pixel centres: 511 * sqrt(2) = 722.66 at 512 px, the value
        # TopoMortar's tables use for medpy's 9 999 999 sentinel
        return float(np.hypot(*(np.asarray(gt.shape) - 1))) if empty_value is None else float(empty_value)
    d = np.concatenate([_surface_distances(pred, gt), _surface_distances(gt, pred)])
    return float(np.percentile(d, 95))


def cldice(pred: np.ndarray, gt: np.ndarray) -> float:
    """clDice with skimage skeletons: ``2 Tprec Tsens / (Tprec + Tsens)``.

    ``Tprec = |pred & skel(gt)| / |skel(gt)|``, ``Tsens = |gt & skel(pred)| / |skel(pred)|`` (as in
    TopoMortar).  Both masks empty gives 1; an empty skeleton on one side gives 0.
    """
    from skimage.morphology import skeletonize
    pred, gt = pred > 0, gt > 0
    if not pred.any() and not gt.any():
        return 1.0
    sk_gt, sk_pred = skeletonize(gt), skeletonize(pred)
    tprec = (pred & sk_gt).sum() / sk_gt.sum() if sk_gt.any() else 0.0
    tsens = (gt & sk_pred).sum() / sk_pred.sum() if sk_pred.any() else 0.0
    return float(2 * tprec * tsens / (tprec + tsens)) if tprec + tsens else 0.0


def image_metrics(pred: np.ndarray, gt: np.ndarray, window: int = 128,
                  hd95_empty: float | None = None, official_empty: bool = False) -> dict[str, float]:
    """All TopoMortar metrics of one (H, W) binary prediction against its label."""
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f'prediction {pred.shape} and label {gt.shape} must be 2-D and of one shape')
    b0, b1 = betti_errors(pred, gt, official_empty)
    l0, l1 = local_betti_errors(pred, gt, window, official_empty)
    return dict(Dice=dice(pred, gt), clDice=cldice(pred, gt), Betti0Error=float(b0), Betti1Error=float(b1),
                Betti0ErrorLocal=l0, Betti1ErrorLocal=l1, HD95=hd95(pred, gt, hd95_empty))


def summarise(results: Sequence[dict], id_group: str = 'indistr') -> dict[str, float]:
    """Per-group means, ``ID/*`` (the ``id_group`` mean), ``OOD/*`` (mean of the other groups' means) and
    overall means of per-image metric dicts that carry a ``group`` key."""
    by_group: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        by_group[r['group']].append(r)
    out: dict[str, float] = {}
    names = [n for n in METRIC_NAMES if results and n in results[0]]
    for n in names:
        out[n] = float(np.mean([r[n] for r in results]))
    group_means = {g: {n: float(np.mean([r[n] for r in rs])) for n in names} for g, rs in by_group.items()}
    for g, means in sorted(group_means.items()):
        for n, v in means.items():
            out[f'{g}/{n}'] = v
    if id_group in group_means:
        for n in names:
            out[f'ID/{n}'] = group_means[id_group][n]
    ood = [m for g, m in group_means.items() if g != id_group and g not in ('train', 'val')]
    if ood:
        for n in names:
            out[f'OOD/{n}'] = float(np.mean([m[n] for m in ood]))
    return out


@METRICS.register_module()
class TopologyMetric(BaseMetric):
    """Dice, clDice, Betti-0/1 errors, local Betti errors and HD95 of a binary (foreground) class.

    Results are reported overall (``Dice`` ...), per test group (``angles/Dice`` ...), for the
    in-distribution group (``ID/Dice``) and as OOD = mean of the other groups' means (``OOD/Dice``), as in
    TopoMortar's tables; a per-group table is logged.  Images without a ``group`` meta key count as
    ``indistr``.

    Args:
        foreground: class index evaluated (1 = mortar).
        window: side of the windows of the local Betti errors (128).
        hd95_empty: HD95 of an empty prediction or label; default: the image diagonal (722.66 at 512 px).
        id_group: name of the in-distribution group.
        official_empty_betti: count b0 = 1 for an empty mask or window as the official gudhi-based code
            does (see :func:`betti_numbers`); the default counts the true b0 = 0.
    """

    default_prefix = None

    def __init__(self, foreground: int = 1, window: int = 128, hd95_empty: float | None = None,
                 id_group: str = 'indistr', official_empty_betti: bool = False,
                 collect_device: str = 'cpu', prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if window <= 0:
            raise ValueError(f'window must be positive, got {window}')
        self.foreground, self.window, self.hd95_empty, self.id_group = foreground, window, hd95_empty, id_group
        self.official_empty_betti = official_empty_betti

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for ds in data_samples:
            pred = ds['pred_sem_seg']['data'].squeeze(0).cpu().numpy() == self.foreground
            gt = ds['gt_sem_seg']['data'].squeeze(0).cpu().numpy() == self.foreground
            row = image_metrics(pred, gt, self.window, self.hd95_empty, self.official_empty_betti)
            row['group'] = ds.get('group', self.id_group)
            self.results.append(row)

    def compute_metrics(self, results: list) -> dict[str, float]:
        out = summarise(results, self.id_group)
        groups = sorted({r['group'] for r in results})
        rows = ([self.id_group] if self.id_group in groups else []) + [g for g in groups if g != self.id_group]
        rows += [r for r in ('ID', 'OOD') if f'{r}/Dice' in out]
        header = f'{"group":<12}' + ''.join(f'{n:>18}' for n in METRIC_NAMES)
        lines = [header] + [f'{g:<12}' + ''.join(f'{out[f"{g}/{n}"]:>18.4f}' for n in METRIC_NAMES)
                            for g in rows]
        MMLogger.get_current_instance().info('TopoMortar topology metrics\n' + '\n'.join(lines))
        return out
