"""Few-shot segmentation metrics: class-accumulated mIoU over episodes (RePRI's protocol) and FB-IoU.

Reference: RePRI official ``src/test.py``.  Within a run, intersection and union of the *foreground*
channel are summed per novel class over all episodes; ``IoU_c = I_c / (U_c + 1e-10)``; the run's mIoU is
the mean over the classes that occurred; the reported mIoU is the mean over runs.  Pixels labelled 255
(the padding of the 417×417 frame, VOC boundaries) are ignored.

FB-IoU (not computed by the RePRI code; common in few-shot papers): foreground and background
intersections / unions summed over all episodes of a run regardless of class, ``FB-IoU = (IoU_fg +
IoU_bg) / 2``, averaged over runs.
"""
from __future__ import annotations

import os.path as osp
from collections import defaultdict
from typing import Any, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from visionx.registry import METRICS
from visionx.utils import atomic_write_json

EPS = 1e-10


def binary_intersection_union(pred: np.ndarray, gt: np.ndarray, ignore_index: int = 255) -> np.ndarray:
    """Foreground and background intersection / union of one binary prediction.

    Args:
        pred: (H, W) prediction, 1 foreground, 0 background.
        gt: (H, W) label, 1 foreground, 0 background, ``ignore_index`` ignored.

    Returns:
        (4,) int64 ``[I_fg, U_fg, I_bg, U_bg]`` over the non-ignored pixels.
    """
    if pred.shape != gt.shape:
        raise ValueError(f'prediction {pred.shape} and label {gt.shape} differ in shape')
    valid = gt != ignore_index
    p, g = pred[valid] == 1, gt[valid] == 1
    return np.array([(p & g).sum(), (p | g).sum(), (~p & ~g).sum(), (~p | ~g).sum()], np.int64)


@METRICS.register_module()
class FewShotMetric(BaseMetric):
    """Episode mIoU per novel class (accumulated over a run, averaged over runs) and FB-IoU.

    Each processed sample is a dict with ``pred_mask`` (H, W) (0/1), ``gt_mask`` (H, W) (0/1/255),
    ``class_id`` (the dataset's class index of the episode) and ``run`` (run index); the
    :class:`~visionx.engine.loops.RePRITestLoop` produces them.

    Reported (percent, 2 decimals as mmseg): ``mIoU``, ``FB-IoU``, ``mIoU_run<r>`` per run and
    ``IoU.<class>`` per class (mean over the runs in which the class occurred).

    Args:
        ignore_index: label value of ignored pixels.
        out_dir: if set, the per-class table is also written atomically to ``out_dir/fewshot_table.json``.
        collect_device: as :class:`mmengine.evaluator.BaseMetric`.
        prefix: as :class:`mmengine.evaluator.BaseMetric`.
    """

    default_prefix = None

    def __init__(self, ignore_index: int = 255, out_dir: str | None = None, collect_device: str = 'cpu',
                 prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ignore_index = int(ignore_index)
        self.out_dir = out_dir

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Accumulate ``(run, class_id, I_fg, U_fg, I_bg, U_bg)`` of every episode."""
        for sample in data_samples:
            pred, gt = sample['pred_mask'], sample['gt_mask']
            pred = pred.detach().cpu().numpy() if torch.is_tensor(pred) else np.asarray(pred)
            gt = gt.detach().cpu().numpy() if torch.is_tensor(gt) else np.asarray(gt)
            iu = binary_intersection_union(pred, gt, self.ignore_index)
            self.results.append((int(sample['run']), int(sample['class_id']), iu))

    def _class_name(self, class_id: int) -> str:
        classes = (self.dataset_meta or {}).get('classes')
        if classes is not None and 0 <= class_id < len(classes):
            return str(classes[class_id])
        return str(class_id)

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Per-run class IoUs, their mean (mIoU) and FB-IoU, averaged over runs."""
        if not results:
            raise ValueError('FewShotMetric: no episode was evaluated')
        per_run: dict[int, dict[int, np.ndarray]] = defaultdict(lambda: defaultdict(lambda: np.zeros(4, np.int64)))
        for run, class_id, iu in results:
            per_run[run][class_id] += iu
        runs = sorted(per_run)
        miou_runs, fb_runs = [], []
        class_ious: dict[int, list[float]] = defaultdict(list)
        for run in runs:
            ious = {c: acc[0] / (acc[1] + EPS) for c, acc in per_run[run].items()}
            for c, v in ious.items():
                class_ious[c].append(float(v))
            miou_runs.append(float(np.mean(list(ious.values()))))
            total = sum(per_run[run].values())
            fb_runs.append(float((total[0] / (total[1] + EPS) + total[2] / (total[3] + EPS)) / 2))
        metrics = {'mIoU': round(100 * float(np.mean(miou_runs)), 2),
                   'FB-IoU': round(100 * float(np.mean(fb_runs)), 2)}
        for run, v in zip(runs, miou_runs):
            metrics[f'mIoU_run{run}'] = round(100 * v, 2)
        table = {self._class_name(c): round(100 * float(np.mean(v)), 2) for c, v in sorted(class_ious.items())}
        for name, v in table.items():
            metrics[f'IoU.{name}'] = v
        self._log_table(table, metrics, len(results), len(runs))
        if self.out_dir:
            atomic_write_json(osp.join(self.out_dir, 'fewshot_table.json'),
                              dict(per_class_IoU=table, mIoU=metrics['mIoU'], FB_IoU=metrics['FB-IoU'],
                                   mIoU_per_run=[round(100 * v, 2) for v in miou_runs],
                                   episodes=len(results), runs=len(runs)))
        return metrics

    @staticmethod
    def _log_table(table: dict[str, float], metrics: dict[str, float], episodes: int, runs: int) -> None:
        width = max([len(n) for n in table] + [6])
        lines = [f'few-shot evaluation: {episodes} episodes, {runs} run(s)',
                 f'{"class":<{width}} | IoU (%)']
        lines += [f'{name:<{width}} | {v:6.2f}' for name, v in table.items()]
        lines += [f'{"mIoU":<{width}} | {metrics["mIoU"]:6.2f}', f'{"FB-IoU":<{width}} | {metrics["FB-IoU"]:6.2f}']
        MMLogger.get_current_instance().info('\n' + '\n'.join(lines))
