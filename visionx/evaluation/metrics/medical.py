"""Binary 3D segmentation metrics: Dice, Jaccard, HD95 and ASD (medpy definitions).

TraCoCo (and the UA-MT line of work) score each case with ``medpy.metric.binary`` ``dc``, ``jc``, ``hd95``
and ``asd`` in **voxel units** (no spacing), and give a case with an empty prediction (0, 0, 0, 0)
(``docs/METHODS.md`` part B §2.6).  This module re-implements those definitions with SciPy (medpy is not a
dependency): surfaces are the voxels removed by one binary erosion with the 6-connected structuring
element; distances are Euclidean distance transforms, optionally scaled by the voxel spacing (mm).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from scipy import ndimage

from visionx.registry import METRICS


def _as_bool(x) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x).astype(bool)


def dice_coefficient(pred: np.ndarray, gt: np.ndarray) -> float:
    """``2|P ∩ G| / (|P| + |G|)``; 0 when both are empty (medpy)."""
    p, g = _as_bool(pred), _as_bool(gt)
    denom = p.sum() + g.sum()
    return float(2.0 * np.logical_and(p, g).sum() / denom) if denom else 0.0


def jaccard_index(pred: np.ndarray, gt: np.ndarray) -> float:
    """``|P ∩ G| / |P ∪ G|``; 0 when both are empty (medpy)."""
    p, g = _as_bool(pred), _as_bool(gt)
    union = np.logical_or(p, g).sum()
    return float(np.logical_and(p, g).sum() / union) if union else 0.0


def surface_distances(pred: np.ndarray, gt: np.ndarray, spacing: Sequence[float] | None = None) -> np.ndarray:
    """Distances from every surface voxel of ``pred`` to the nearest surface voxel of ``gt``.

    Args:
        pred: (X, Y, Z) binary mask, not empty.
        gt: (X, Y, Z) binary mask, not empty.
        spacing: Voxel size per axis (distances in voxels if None).

    Raises:
        ValueError: If either mask is empty (the distance is undefined) or the shapes differ.
    """
    p, g = _as_bool(pred), _as_bool(gt)
    if p.shape != g.shape:
        raise ValueError(f'prediction {p.shape} and ground truth {g.shape} differ in shape')
    if not p.any() or not g.any():
        raise ValueError('surface distances are undefined for an empty mask')
    structure = ndimage.generate_binary_structure(p.ndim, 1)
    p_border = p ^ ndimage.binary_erosion(p, structure=structure, iterations=1)
    g_border = g ^ ndimage.binary_erosion(g, structure=structure, iterations=1)
    dt = ndimage.distance_transform_edt(~g_border, sampling=spacing)
    return dt[p_border]


def hd95(pred: np.ndarray, gt: np.ndarray, spacing: Sequence[float] | None = None) -> float:
    """95th percentile of the symmetric surface distances (medpy ``hd95``)."""
    d = np.hstack([surface_distances(pred, gt, spacing), surface_distances(gt, pred, spacing)])
    return float(np.percentile(d, 95))


def asd(pred: np.ndarray, gt: np.ndarray, spacing: Sequence[float] | None = None) -> float:
    """Average surface distance from ``pred`` to ``gt`` (medpy ``asd``, not symmetric)."""
    return float(surface_distances(pred, gt, spacing).mean())


def case_metrics(pred: np.ndarray, gt: np.ndarray, spacing: Sequence[float] | None = None) -> dict[str, float]:
    """Dice, Jaccard, HD95 and ASD of one case; all zeros when the prediction is empty (official rule).

    An empty ground truth with a non-empty prediction gives Dice = Jaccard = 0 and NaN distances.
    """
    p, g = _as_bool(pred), _as_bool(gt)
    if p.shape != g.shape:
        raise ValueError(f'prediction {p.shape} and ground truth {g.shape} differ in shape')
    if not p.any():
        return dict(dice=0.0, jaccard=0.0, hd95=0.0, asd=0.0)
    if not g.any():
        return dict(dice=0.0, jaccard=0.0, hd95=float('nan'), asd=float('nan'))
    return dict(dice=dice_coefficient(p, g), jaccard=jaccard_index(p, g), hd95=hd95(p, g, spacing),
                asd=asd(p, g, spacing))


@METRICS.register_module()
class MedicalSegMetric(BaseMetric):
    """Per-case Dice / Jaccard (in %), HD95 / ASD (voxels; also mm when the sample has ``spacing``).

    Every prediction field named ``pred_label`` or ``pred_label_<net>`` in the samples is scored; the
    results are prefixed with ``<net>/`` (TraCoCo evaluates both networks: ``net1/dice``, ``net2/dice``).

    Args:
        pred_keys: Prediction fields to score (default: every ``pred_label*`` field).
        foreground: Label value of the foreground class.
        collect_device: See :class:`~mmengine.evaluator.BaseMetric`.
        prefix: See :class:`~mmengine.evaluator.BaseMetric`.
    """

    def __init__(self, pred_keys: Sequence[str] | None = None, foreground: int = 1, collect_device: str = 'cpu',
                 prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.pred_keys = tuple(pred_keys) if pred_keys else None
        self.foreground = foreground

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'gt_label' not in sample:
                raise ValueError(f"sample {sample.get('case', '?')} has no gt_label to evaluate against")
            gt = _as_bool(np.asarray(sample['gt_label'].cpu() if hasattr(sample['gt_label'], 'cpu')
                                     else sample['gt_label']) == self.foreground)
            keys = self.pred_keys or sorted(k for k in sample if k.startswith('pred_label'))
            spacing = sample.get('spacing')
            row = {}
            for key in keys:
                pred = np.asarray(sample[key]) == self.foreground
                name = key[len('pred_label_'):] if key.startswith('pred_label_') else ''
                vals = case_metrics(pred, gt)
                if spacing is not None and pred.any() and gt.any():
                    vals.update(hd95_mm=hd95(pred, gt, spacing), asd_mm=asd(pred, gt, spacing))
                row.update({(f'{name}/{k}' if name else k): v for k, v in vals.items()})
            self.results.append(row)

    def compute_metrics(self, results: list[dict]) -> dict[str, float]:
        out: dict[str, float] = OrderedDict()
        for key in results[0]:
            vals = np.array([r[key] for r in results if key in r], np.float64)
            scale = 100.0 if key.split('/')[-1] in ('dice', 'jaccard') else 1.0
            out[key] = float(np.nanmean(vals) * scale) if np.isfinite(vals).any() else float('nan')
        return out
