"""Salient-object-detection metrics: MAE, F-measure (max / mean / adaptive), S-measure, E-measure,
weighted F-measure and relaxed boundary F-measure.

References:
    * MAE and the PR / F-measure protocol: the official BASNet evaluation tool
      (xuebinqin/Binary-Segmentation-Evaluation-Tool): prediction min-max normalised and scaled to 0..255,
      GT foreground = GT * 255 > 128, P and R averaged over the dataset per threshold before F,
      beta^2 = 0.3.  It uses the 255 thresholds 254..0; we use the 256 thresholds 0..255 (the extra one,
      ``pred >= 255``, only adds a point to the curve).
    * S-measure: Fan et al., "Structure-measure", ICCV 2017 (alpha = 0.5).
    * E-measure: Fan et al., "Enhanced-alignment Measure", IJCAI 2018 (mean over the 256 thresholds, and
      adaptive threshold 2 * mean(S)).
    * Weighted F-measure: Margolin et al., "How to Evaluate Foreground Maps?", CVPR 2014 (beta^2 = 1).
    * Relaxed boundary F-measure: Qin et al., BASNet CVPR 2019 Sec. 4.2 (rho = 3).  No official code exists;
      we binarise at 0.5, take boundary = mask XOR erode(mask, 3x3), count boundary pixels within rho
      (Euclidean) of the other boundary, and average the per-image F (beta^2 = 0.3) over the dataset.

All per-image functions take ``pred`` as float (H, W) in [0, 1] and ``gt`` as float (H, W) in [0, 1].
"""
from __future__ import annotations

from collections import OrderedDict, defaultdict
from typing import Sequence

import cv2
import numpy as np
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from scipy import ndimage

from visionx.registry import METRICS

__all__ = ['normalize_prediction', 'mae', 'pr_counts', 'adaptive_fmeasure', 's_measure', 'e_measure_curve',
           'adaptive_e_measure', 'weighted_fmeasure', 'relaxed_boundary_fmeasure', 'SODMetric']

EPS = np.finfo(np.float64).eps
ALL_METRICS = ('MAE', 'maxF', 'meanF', 'adpF', 'Sm', 'meanEm', 'adpEm', 'wFm', 'relaxF')


def normalize_prediction(pred: np.ndarray, minmax: bool = True, quantize: bool = True) -> np.ndarray:
    """Official test-time post-processing: per-image min-max normalisation, then 8-bit levels.

    Args:
        pred: (H, W) saliency map.
        minmax: Apply ``(p - min) / (max - min)`` (``normPRED``); a constant map becomes all zeros.
        quantize: Round to the 256 levels of the saved 8-bit PNG.

    Returns:
        np.ndarray: (H, W) float64 in [0, 1].
    """
    pred = np.asarray(pred, dtype=np.float64)
    if minmax:
        lo, hi = pred.min(), pred.max()
        pred = (pred - lo) / (hi - lo) if hi - lo > EPS else np.zeros_like(pred)
    pred = np.clip(pred, 0, 1)
    if quantize:
        pred = np.round(pred * 255) / 255
    return pred


def _fbeta(p, r, beta2: float):
    p, r = np.asarray(p, np.float64), np.asarray(r, np.float64)
    den = beta2 * p + r
    return np.where(den > 0, (1 + beta2) * p * r / np.where(den > 0, den, 1), 0.0)


def mae(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean absolute error; the GT is divided by its maximum as in the official tool."""
    gt = np.asarray(gt, np.float64)
    gt = gt / gt.max() if gt.max() > EPS else gt
    return float(np.abs(np.asarray(pred, np.float64) - gt).mean())


def _gt_binary(gt: np.ndarray) -> np.ndarray:
    return np.asarray(gt, np.float64) * 255 > 128


def pr_counts(pred: np.ndarray, gt: np.ndarray, num_thresholds: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """TP and FP counts of ``pred * 255 >= t`` for t = 0 .. num_thresholds - 1.

    Returns:
        ``(tp, fp)``, each (num_thresholds,) int64.
    """
    levels = np.clip(np.round(np.asarray(pred, np.float64) * 255), 0, 255).astype(np.int64)
    fg = _gt_binary(gt)
    bins = np.arange(num_thresholds + 1) * (256 / num_thresholds)
    h_fg = np.histogram(levels[fg], bins=bins)[0]
    h_bg = np.histogram(levels[~fg], bins=bins)[0]
    tp = np.cumsum(h_fg[::-1])[::-1]
    fp = np.cumsum(h_bg[::-1])[::-1]
    return tp.astype(np.int64), fp.astype(np.int64)


def precision_recall(tp: np.ndarray, fp: np.ndarray, n_fg: int) -> tuple[np.ndarray, np.ndarray]:
    """P = TP / (TP + FP) and R = TP / |GT| (0 where undefined)."""
    tp, fp = np.asarray(tp, np.float64), np.asarray(fp, np.float64)
    p = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
    r = tp / n_fg if n_fg > 0 else np.zeros_like(tp)
    return p, r


def _adaptive_threshold(pred: np.ndarray) -> float:
    return min(2 * float(np.mean(pred)), 1.0)


def adaptive_fmeasure(pred: np.ndarray, gt: np.ndarray, beta2: float = 0.3) -> float:
    """F-measure at the adaptive threshold ``min(2 * mean(pred), 1)`` (per image)."""
    fg = _gt_binary(gt)
    binary = pred >= _adaptive_threshold(pred)
    tp = int(np.sum(binary & fg))
    p, r = precision_recall(np.array([tp]), np.array([int(binary.sum()) - tp]), int(fg.sum()))
    return float(_fbeta(p, r, beta2)[0])


def _ssim_block(pred: np.ndarray, gt: np.ndarray) -> float:
    n = pred.size
    if n == 0:
        return 0.0
    x, y = pred.mean(), gt.mean()
    dof = max(n - 1, 1)
    sx2 = ((pred - x)**2).sum() / dof
    sy2 = ((gt - y)**2).sum() / dof
    sxy = ((pred - x) * (gt - y)).sum() / dof
    alpha = 4 * x * y * sxy
    beta = (x * x + y * y) * (sx2 + sy2)
    if alpha != 0:
        return float(alpha / (beta + EPS))
    return 1.0 if beta == 0 else 0.0


def _s_object(pred: np.ndarray, region: np.ndarray) -> float:
    vals = pred[region]
    if vals.size == 0:
        return 0.0
    x = vals.mean()
    sigma = vals.std(ddof=1) if vals.size > 1 else 0.0
    return float(2 * x / (x * x + 1 + sigma + EPS))


def s_measure(pred: np.ndarray, gt: np.ndarray, alpha: float = 0.5) -> float:
    """Structure measure S = alpha * S_o + (1 - alpha) * S_r (Fan et al. 2017)."""
    pred = np.asarray(pred, np.float64)
    fg = _gt_binary(gt)
    ratio = fg.mean()
    if ratio == 0:
        return float(1 - pred.mean())
    if ratio == 1:
        return float(pred.mean())
    gtf = fg.astype(np.float64)
    s_o = ratio * _s_object(pred, fg) + (1 - ratio) * _s_object(1 - pred, ~fg)
    h, w = fg.shape
    ys, xs = np.nonzero(fg)
    cy, cx = int(round(ys.mean())) + 1, int(round(xs.mean())) + 1
    cy, cx = min(cy, h), min(cx, w)
    s_r = 0.0
    for rows, cols in ((slice(0, cy), slice(0, cx)), (slice(0, cy), slice(cx, w)),
                       (slice(cy, h), slice(0, cx)), (slice(cy, h), slice(cx, w))):
        block = pred[rows, cols]
        if block.size:
            s_r += block.size / pred.size * _ssim_block(block, gtf[rows, cols])
    return float(max(alpha * s_o + (1 - alpha) * s_r, 0.0))


def _e_from_counts(tp, fp, n_fg: int, n: int) -> np.ndarray:
    """Enhanced-alignment score from the four confusion counts of a binary map (vectorised)."""
    tp, fp = np.asarray(tp, np.float64), np.asarray(fp, np.float64)
    n_bg = n - n_fg
    if n_fg == 0:
        return (n - tp - fp) / n
    if n_bg == 0:
        return (tp + fp) / n
    fn, tn = n_fg - tp, n_bg - fp
    mean_f, mean_g = (tp + fp) / n, n_fg / n
    total = np.zeros_like(tp)
    for count, f_val, g_val in ((tp, 1, 1), (fp, 1, 0), (fn, 0, 1), (tn, 0, 0)):
        phi_f, phi_g = f_val - mean_f, g_val - mean_g
        xi = 2 * phi_f * phi_g / (phi_f**2 + phi_g**2 + EPS)
        total = total + count * (1 + xi)**2 / 4
    return total / n


def e_measure_curve(pred: np.ndarray, gt: np.ndarray, num_thresholds: int = 256) -> np.ndarray:
    """E-measure of ``pred * 255 >= t`` for every threshold t; (num_thresholds,)."""
    tp, fp = pr_counts(pred, gt, num_thresholds)
    fg = _gt_binary(gt)
    return _e_from_counts(tp, fp, int(fg.sum()), fg.size)


def adaptive_e_measure(pred: np.ndarray, gt: np.ndarray) -> float:
    """E-measure at the adaptive threshold ``min(2 * mean(pred), 1)``."""
    fg = _gt_binary(gt)
    binary = pred >= _adaptive_threshold(pred)
    tp = int(np.sum(binary & fg))
    return float(_e_from_counts(np.array([tp]), np.array([int(binary.sum()) - tp]), int(fg.sum()),
                                fg.size)[0])


def _gaussian_kernel(size: int = 7, sigma: float = 5.0) -> np.ndarray:
    ax = np.arange(size) - (size - 1) / 2
    g = np.exp(-(ax[:, None]**2 + ax[None]**2) / (2 * sigma**2))
    return g / g.sum()


def weighted_fmeasure(pred: np.ndarray, gt: np.ndarray, beta2: float = 1.0) -> float:
    """Weighted F-measure (Margolin et al. 2014); 0 for an empty GT (as PySODMetrics)."""
    pred = np.asarray(pred, np.float64)
    fg = _gt_binary(gt)
    if not fg.any():
        return 0.0
    err = np.abs(pred - fg)
    dist, idx = ndimage.distance_transform_edt(~fg, return_indices=True)
    # pixel dependency: background errors take the error of their nearest foreground pixel
    et = err.copy()
    et[~fg] = err[idx[0][~fg], idx[1][~fg]]
    ea = ndimage.correlate(et, _gaussian_kernel(), mode='constant', cval=0.0)
    min_e_ea = err.copy()
    sel = fg & (ea < err)
    min_e_ea[sel] = ea[sel]
    # pixel importance: background errors count more the closer they are to the object
    weight = np.ones_like(pred)
    weight[~fg] = 2 - np.exp(np.log(0.5) / 5 * dist[~fg])
    ew = min_e_ea * weight
    tpw = fg.sum() - ew[fg].sum()
    fpw = ew[~fg].sum()
    r = 1 - ew[fg].mean()
    p = tpw / (tpw + fpw + EPS)
    return float((1 + beta2) * r * p / (r + beta2 * p + EPS))


def _boundary(mask: np.ndarray) -> np.ndarray:
    eroded = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)
    return mask & ~eroded.astype(bool)


def relaxed_boundary_fmeasure(pred: np.ndarray, gt: np.ndarray, rho: float = 3.0,
                              beta2: float = 0.3) -> float:
    """Relaxed boundary F-measure (BASNet Sec. 4.2): boundary pixels within ``rho`` px count as hits."""
    pb = _boundary(np.asarray(pred) >= 0.5)
    gb = _boundary(_gt_binary(gt))
    if not pb.any() and not gb.any():
        return 1.0
    if not pb.any() or not gb.any():
        return 0.0
    dist_to_gt = ndimage.distance_transform_edt(~gb)
    dist_to_pred = ndimage.distance_transform_edt(~pb)
    precision = float((dist_to_gt[pb] <= rho).mean())
    recall = float((dist_to_pred[gb] <= rho).mean())
    return float(_fbeta(precision, recall, beta2))


@METRICS.register_module()
class SODMetric(BaseMetric):
    """Salient-object metrics over a dataset, grouped by ``dataset_name`` (one table row per test set).

    Each data sample must carry ``seg_logits`` (the saliency *probability*, (1, H, W), as produced by
    :class:`~visionx.models.salient.BASNet` or any mmseg one-channel segmentor) and ``gt_sem_seg`` (float
    (1, H, W) in [0, 1], from ``LoadSalientMask``).  The prediction is resized bilinearly to the GT's
    (original) size if needed, min-max normalised and quantised to 8 bits like the official test script.

    Args:
        metrics: Subset of ``('MAE', 'maxF', 'meanF', 'adpF', 'Sm', 'meanEm', 'adpEm', 'wFm', 'relaxF')``.
        beta2: beta^2 of the F-measures (0.3).
        num_thresholds: Thresholds of the PR / E curves (256).
        relax_radius: rho of the relaxed boundary F-measure (3).
        minmax_norm: Min-max normalise each prediction (official ``normPRED``).
        group_key: Meta key that names the test set.
    """

    default_prefix = None

    def __init__(self, metrics: Sequence[str] = ALL_METRICS, beta2: float = 0.3, num_thresholds: int = 256,
                 relax_radius: float = 3.0, minmax_norm: bool = True, group_key: str = 'dataset_name',
                 collect_device: str = 'cpu', prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        unknown = set(metrics) - set(ALL_METRICS)
        if unknown:
            raise ValueError(f'unknown SOD metrics {sorted(unknown)}; choose from {ALL_METRICS}')
        if not 1 <= num_thresholds <= 256:
            raise ValueError(f'num_thresholds must be in [1, 256], got {num_thresholds}')
        self.metrics = tuple(metrics)
        self.beta2 = beta2
        self.num_thresholds = num_thresholds
        self.relax_radius = relax_radius
        self.minmax_norm = minmax_norm
        self.group_key = group_key

    def evaluate_image(self, pred: np.ndarray, gt: np.ndarray) -> dict:
        """Per-image statistics of one (H, W) probability map against its (H, W) GT in [0, 1]."""
        pred = normalize_prediction(pred, self.minmax_norm)
        out: dict = {}
        fg = _gt_binary(gt)
        if 'MAE' in self.metrics:
            out['MAE'] = mae(pred, gt)
        if {'maxF', 'meanF'} & set(self.metrics):
            tp, fp = pr_counts(pred, gt, self.num_thresholds)
            out['precision'], out['recall'] = precision_recall(tp, fp, int(fg.sum()))
        if 'adpF' in self.metrics:
            out['adpF'] = adaptive_fmeasure(pred, gt, self.beta2)
        if 'Sm' in self.metrics:
            out['Sm'] = s_measure(pred, gt)
        if 'meanEm' in self.metrics:
            out['Em_curve'] = e_measure_curve(pred, gt, self.num_thresholds)
        if 'adpEm' in self.metrics:
            out['adpEm'] = adaptive_e_measure(pred, gt)
        if 'wFm' in self.metrics:
            out['wFm'] = weighted_fmeasure(pred, gt)
        if 'relaxF' in self.metrics:
            out['relaxF'] = relaxed_boundary_fmeasure(pred, gt, self.relax_radius, self.beta2)
        return out

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['seg_logits']['data']
            gt = sample['gt_sem_seg']['data']
            pred = pred.float()
            if pred.dim() == 3 and pred.shape[0] != 1:
                raise ValueError(f'SODMetric expects a one-channel saliency map, got {tuple(pred.shape)}')
            gt = gt.reshape(gt.shape[-2:]).float()
            if pred.shape[-2:] != gt.shape[-2:]:
                pred = F.interpolate(pred.reshape(1, 1, *pred.shape[-2:]), size=gt.shape[-2:],
                                     mode='bilinear', align_corners=False)
            pred_np = pred.reshape(gt.shape).cpu().numpy()
            gt_np = gt.cpu().numpy()
            if gt_np.max() > 1 or gt_np.min() < 0:
                raise ValueError('SODMetric expects a GT in [0, 1] (use LoadSalientMask); got range '
                                 f'[{gt_np.min()}, {gt_np.max()}] for {sample.get("img_path")}')
            stats = self.evaluate_image(pred_np, gt_np)
            stats['group'] = str(sample.get(self.group_key) or 'default')
            self.results.append(stats)

    def summarize(self, results: list[dict]) -> dict:
        """Dataset-level metrics of per-image statistics."""
        out = OrderedDict()
        for name in self.metrics:
            if name in ('maxF', 'meanF'):
                p = np.mean([r['precision'] for r in results], axis=0)
                rc = np.mean([r['recall'] for r in results], axis=0)
                curve = _fbeta(p, rc, self.beta2)
                out[name] = float(curve.max() if name == 'maxF' else curve.mean())
            elif name == 'meanEm':
                out[name] = float(np.mean([r['Em_curve'] for r in results], axis=0).mean())
            else:
                out[name] = float(np.mean([r[name] for r in results]))
        return out

    def compute_metrics(self, results: list) -> dict:
        groups: dict[str, list] = defaultdict(list)
        for r in results:
            groups[r['group']].append(r)
        table = OrderedDict((g, self.summarize(rs)) for g, rs in sorted(groups.items()))
        self._print_table(table, {g: len(rs) for g, rs in groups.items()})
        if len(table) == 1:
            return dict(next(iter(table.values())))
        return {f'{g}/{k}': v for g, row in table.items() for k, v in row.items()}

    def _print_table(self, table: dict, counts: dict) -> None:
        from prettytable import PrettyTable
        pt = PrettyTable()
        pt.field_names = ['dataset', 'images', *self.metrics]
        for g, row in table.items():
            pt.add_row([g, counts[g], *(f'{row[m]:.4f}' for m in self.metrics)])
        print_log('\n' + pt.get_string(), logger='current')
