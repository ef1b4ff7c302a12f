#!/usr/bin/env python
"""Measure what reduced-precision inference changes: fp32 against bf16 (or fp16) on a config's test set.

    python tools/analysis/compare_precision.py CONFIG CHECKPOINT [--precision bf16] [--max-samples N]
        [--out FILE.json] [--threads N] [--device cpu] [--warmup 1] [--data-root DIR] [--cfg-options k=v ...]

The model of CONFIG is loaded from CHECKPOINT (strictly) and the config's test dataloader is read **once**;
every batch is run through two copies of the model: the fp32 one exactly as ``tools/test.py`` runs it
(``--precision fp32``) and the low-precision one exactly as ``tools/test.py --precision P`` does
(:func:`visionx.utils.precision.wrap_test_step`: autocast, 2-D conv nets in channels-last, outputs cast back
to fp32).  Both see the same batch (a deep copy each), so random test-time transforms (GridFormer's input
noise) cannot make a difference; the batches alternate which precision runs first.  Reported (and
written to ``--out`` atomically as JSON):

* ``probability``: max and mean absolute difference of the predicted probabilities, per pixel / voxel /
  query point: ``seg_logits`` through softmax (several channels, every class) or sigmoid (one channel);
  configs evaluated with ``SODMetric`` (BASNet) already store the saliency probability in ``seg_logits``
  and it is compared as is; TraCoCo-style models (``predict_probs``) store only labels, so the
  probability maps of every network ``predict`` evaluates are recorded as it computes them; GridFormer:
  ``occ_prob_iou``, the occupancy probabilities at the dataset's uniform IoU query points.
* ``mask``: IoU of the foreground (label != 0) of the model's own thresholded prediction
  (``pred_sem_seg``: BASNet's 0.5 threshold, argmax for the others; ``pred_label``: TraCoCo), per sample
  (min / mean) and pooled over the set, and the fraction of pixels / voxels whose label changed.
  GridFormer: the occupancy at the ``OccupancyIoUMetric`` threshold of the config (0.2) instead.
* ``mesh`` (GridFormer, when the test pipeline asks for meshes): the volumetric IoU of the fp32 mesh
  against the low-precision mesh, both meshes extracted by the model's own test path (``test_cfg.mesh``)
  and tested with the metric's inside test (:func:`~visionx.evaluation.metrics.reconstruction.mesh_contains`)
  on the same uniform IoU query points; vertex and face counts.
* ``metrics``: the config's ``test_evaluator`` on each pass and their difference (Dice for TraCoCo and
  TopoMortar, MAE / maxF for BASNet, mesh IoU / Chamfer for GridFormer); metric files (``out_dir``) are
  not written.
* ``time_s``: wall seconds of the test steps of each pass (data loading and metrics excluded) after
  ``--warmup`` untimed runs of the first batch in each precision, and ``speedup`` = fp32 / low.  bf16 is
  only fast on CPUs with AMX or AVX-512 BF16 (``fast_bf16`` in the report); elsewhere it is emulated
  and usually much *slower* than fp32.

``--precision fp32`` compares fp32 with itself (differences 0, IoU 1: a check of the tool); ``auto``
resolves as in ``tools/test.py``; ``fp16`` needs CUDA.  Class-incremental (CISS) task configs are not
supported (evaluate their steps with ``tools/test.py``).
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import os
import platform
import sys
import time
from typing import Any, Iterator

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from visionx.utils.cli import run_tool  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Compare fp32 with bf16/fp16 inference on a test set',
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint of the config\'s model')
    parser.add_argument('--precision', choices=['auto', 'fp32', 'bf16', 'fp16'], default='bf16',
                        help='precision compared with fp32 (default bf16)')
    parser.add_argument('--max-samples', type=int, default=None, metavar='N',
                        help='stop after the batch that reaches N test samples (default: the whole test set)')
    parser.add_argument('--out', metavar='FILE.json', help='write the report to this JSON file (atomically)')
    parser.add_argument('--threads', type=int, default=None, help='CPU threads (default: torch\'s default)')
    parser.add_argument('--device', default='cpu', help='torch device (default cpu)')
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed runs of the first batch in each precision before timing (default 1)')
    parser.add_argument('--data-root', metavar='DIR', help='dataset folder of every dataset of the config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys (MMEngine)')
    return parser.parse_args(argv)


# ----------------------------------------------------------------------------------------------------------
# Pieces of the comparison (pure functions of the two passes' outputs)


def probabilities(seg_logits: torch.Tensor, is_probability: bool = False) -> torch.Tensor:
    """Class probabilities of ``seg_logits`` (C, ...): softmax over C for C > 1, sigmoid for C = 1.

    ``is_probability`` (``SODMetric`` configs: BASNet stores the saliency probability there) returns the
    tensor unchanged.
    """
    seg_logits = seg_logits.float()
    if is_probability:
        return seg_logits
    return seg_logits.softmax(0) if seg_logits.shape[0] > 1 else seg_logits.sigmoid()


def mask_counts(pred_a: np.ndarray, pred_b: np.ndarray) -> tuple[int, int, int, int]:
    """(intersection, union, changed, total) of two label maps; foreground = label != 0."""
    a, b = np.asarray(pred_a), np.asarray(pred_b)
    if a.shape != b.shape:
        raise ValueError(f'label maps differ in shape: {a.shape} vs {b.shape}')
    fa, fb = a != 0, b != 0
    return (int(np.logical_and(fa, fb).sum()), int(np.logical_or(fa, fb).sum()), int((a != b).sum()), a.size)


def iou(inter: int, union: int) -> float:
    """inter / union, 1.0 when both masks are empty."""
    return inter / union if union else 1.0


class Comparison:
    """Accumulates the differences of the two passes, sample by sample."""

    def __init__(self) -> None:
        self.prob_max = 0.0
        self.prob_sum = 0.0
        self.prob_count = 0
        self.masks: list[tuple[int, int, int, int]] = []
        self.occ: list[tuple[int, int, int, int]] = []
        self.mesh_iou: list[float] = []
        self.mesh_sizes: list[tuple[int, int, int, int]] = []

    def add_probs(self, a: torch.Tensor, b: torch.Tensor) -> None:
        if a.shape != b.shape:
            raise ValueError(f'probability maps differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}')
        diff = (a.float() - b.float()).abs()
        if diff.numel():
            self.prob_max = max(self.prob_max, float(diff.max()))
            self.prob_sum += float(diff.double().sum())
            self.prob_count += diff.numel()

    @staticmethod
    def _summary(counts: list[tuple[int, int, int, int]]) -> dict[str, float] | None:
        if not counts:
            return None
        arr = np.array(counts, np.int64)
        per_sample = [iou(i, u) for i, u, _, _ in counts]
        return dict(iou_min=min(per_sample), iou_mean=float(np.mean(per_sample)),
                    iou_pooled=iou(int(arr[:, 0].sum()), int(arr[:, 1].sum())),
                    changed_fraction=float(arr[:, 2].sum() / max(int(arr[:, 3].sum()), 1)),
                    changed=int(arr[:, 2].sum()), total=int(arr[:, 3].sum()), samples=len(counts))

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(
            probability=dict(max_abs_diff=self.prob_max,
                             mean_abs_diff=self.prob_sum / self.prob_count if self.prob_count else 0.0,
                             values=self.prob_count) if self.prob_count else None,
            mask=self._summary(self.masks), occupancy=self._summary(self.occ))
        if self.mesh_iou:
            sizes = np.array(self.mesh_sizes)
            out['mesh'] = dict(iou_min=min(self.mesh_iou), iou_mean=float(np.mean(self.mesh_iou)),
                               shapes=len(self.mesh_iou), vertices_ref=int(sizes[:, 0].sum()),
                               vertices_low=int(sizes[:, 1].sum()), faces_ref=int(sizes[:, 2].sum()),
                               faces_low=int(sizes[:, 3].sum()))
        return out


def _field(sample: Any, key: str) -> Any:
    """``sample[key]`` of a data element or dict, None when absent."""
    if isinstance(sample, dict):
        return sample.get(key)
    return getattr(sample, key, None) if key in sample else None


def _data(value: Any) -> Any:
    """The tensor of a ``PixelData`` (or the value itself)."""
    return value.data if hasattr(value, 'data') and not torch.is_tensor(value) else value


def _labels(value: Any) -> np.ndarray:
    value = _data(value)
    return value.detach().cpu().numpy() if torch.is_tensor(value) else np.asarray(value)


def compare_outputs(cmp: Comparison, ref: list, low: list, batch: dict, sod: bool,
                    occ_threshold: float) -> None:
    """Add the differences of one batch's two ``test_step`` outputs (``ref`` fp32, ``low``) to ``cmp``.

    Args:
        cmp: The accumulator.
        ref: fp32 outputs (data samples or GridFormer result dicts).
        low: Reduced-precision outputs of the same batch.
        batch: The batch (GridFormer's ``points_iou`` for the mesh IoU).
        sod: The ``seg_logits`` hold probabilities (``SODMetric`` configs).
        occ_threshold: Occupancy threshold of GridFormer's IoU.
    """
    if len(ref) != len(low):
        raise ValueError(f'the passes returned {len(ref)} and {len(low)} samples')
    for i, (a, b) in enumerate(zip(ref, low)):
        if _field(a, 'seg_logits') is not None:
            cmp.add_probs(probabilities(_data(_field(a, 'seg_logits')), sod),
                          probabilities(_data(_field(b, 'seg_logits')), sod))
        for key in ('pred_sem_seg', 'pred_label'):
            if _field(a, key) is not None:
                cmp.masks.append(mask_counts(_labels(_field(a, key)), _labels(_field(b, key))))
                break
        if _field(a, 'occ_prob_iou') is not None:
            pa, pb = torch.as_tensor(_field(a, 'occ_prob_iou')), torch.as_tensor(_field(b, 'occ_prob_iou'))
            cmp.add_probs(pa, pb)
            cmp.occ.append(mask_counts((pa >= occ_threshold).numpy(), (pb >= occ_threshold).numpy()))
        if _field(a, 'faces') is not None:
            cmp.mesh_iou.append(mesh_pair_iou(a, b, _points_iou(batch, i)))
            cmp.mesh_sizes.append((len(a['vertices']), len(b['vertices']), len(a['faces']), len(b['faces'])))


def _points_iou(batch: dict, i: int) -> np.ndarray:
    samples = batch['data_samples']
    pts = samples.get('points_iou') if isinstance(samples, dict) else None
    if pts is None:
        raise ValueError('mesh IoU needs the uniform query points "points_iou" in the batch; give the test '
                         'dataset with_iou=True')
    return _labels(pts[i]).astype(np.float32)


def mesh_pair_iou(a: dict, b: dict, points: np.ndarray) -> float:
    """Volumetric IoU of two meshes (``vertices``/``faces`` dicts) on ``points`` (N, 3)."""
    from visionx.evaluation.metrics.reconstruction import mesh_contains, occupancy_iou
    inside = [mesh_contains(np.asarray(m['vertices']), np.asarray(m['faces']), points) for m in (a, b)]
    return occupancy_iou(*inside)


@contextlib.contextmanager
def record_probs(model: torch.nn.Module, store: list) -> Iterator[None]:
    """Append to ``store`` the probability maps ``model.predict_probs`` returns (TraCoCo), if it has one."""
    inner = getattr(model, 'predict_probs', None)
    if inner is None:
        yield
        return

    def predict_probs(*args, **kwargs):
        probs = inner(*args, **kwargs)
        store.append(probs.detach().float().cpu())
        return probs

    model.predict_probs = predict_probs
    try:
        yield
    finally:
        del model.predict_probs


# ----------------------------------------------------------------------------------------------------------


def _evaluator_cfgs(cfg) -> list[dict]:
    evs = cfg.get('test_evaluator') or []
    evs = evs if isinstance(evs, (list, tuple)) else [evs]
    out = []
    for ev in evs:
        ev = copy.deepcopy(dict(ev))
        ev.pop('out_dir', None)  # no per-class CSVs: this tool only reports the numbers
        out.append(ev)
    return out


def _occ_threshold(cfg) -> float:
    for ev in ([cfg.get('val_evaluator')] if isinstance(cfg.get('val_evaluator'), dict)
               else list(cfg.get('val_evaluator') or [])):
        if isinstance(ev, dict) and ev.get('type') == 'OccupancyIoUMetric':
            return float(ev.get('threshold', 0.2))
    return 0.2


def _cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as fh:
            for line in fh:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def _numeric(metrics: dict) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float, np.floating, np.integer))
            and not isinstance(v, bool)}


def compare(cfg, checkpoint: str, precision: str, device: torch.device, max_samples: int | None = None,
            warmup: int = 1) -> dict[str, Any]:
    """Run the test set of ``cfg`` in fp32 and in the resolved ``precision``; return the report (see module)."""
    from mmengine.evaluator import Evaluator
    from mmengine.runner import Runner, set_random_seed

    from visionx.registry import MODELS
    from visionx.utils.checkpoint import check_state_dict_matches, load_state_dict_file
    from visionx.utils.precision import cpu_has_fast_bf16, wrap_test_step

    seed = (cfg.get('randomness') or {}).get('seed', 0)
    set_random_seed(0 if seed is None else seed)
    model = MODELS.build(cfg.model)
    state = load_state_dict_file(checkpoint)
    check_state_dict_matches(state, model, f'checkpoint {checkpoint}', f'model {type(model).__name__}')
    model.load_state_dict(state, strict=True)
    ref_model = model.to(device).eval()
    low_model = wrap_test_step(copy.deepcopy(ref_model), precision, device)

    loader = Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader), seed=seed)
    evaluators = {}
    for name in ('ref', 'low'):
        evaluators[name] = Evaluator(_evaluator_cfgs(cfg)) if _evaluator_cfgs(cfg) else None
        if evaluators[name] is not None:
            evaluators[name].dataset_meta = getattr(loader.dataset, 'metainfo', None)
    sod = any(ev.get('type') == 'SODMetric' for ev in _evaluator_cfgs(cfg))
    occ_threshold = _occ_threshold(cfg)
    models = dict(ref=ref_model, low=low_model)
    times = dict(ref=0.0, low=0.0)
    cmp = Comparison()
    n = 0

    def run(name: str, batch: dict) -> tuple[list, list, float]:
        probs: list = []
        with torch.no_grad(), record_probs(models[name], probs):
            t0 = time.perf_counter()
            out = models[name].test_step(copy.deepcopy(batch))
            if device.type == 'cuda':
                torch.cuda.synchronize(device)
            return out, probs, time.perf_counter() - t0

    from tqdm import tqdm
    total = len(loader.dataset) if max_samples is None else min(len(loader.dataset), max_samples)
    bar = tqdm(total=total, desc=f'fp32 vs {precision}', unit='sample', file=sys.stderr)
    for index, batch in enumerate(loader):
        if index == 0:
            for _ in range(max(warmup, 0)):
                run('ref', batch)
                run('low', batch)
        order = ('ref', 'low') if index % 2 == 0 else ('low', 'ref')
        outs = {}
        for name in order:
            out, probs, dt = run(name, batch)
            outs[name] = (out, probs)
            times[name] += dt
        compare_outputs(cmp, outs['ref'][0], outs['low'][0], batch, sod, occ_threshold)
        if len(outs['ref'][1]) != len(outs['low'][1]):
            raise RuntimeError('the passes computed different numbers of probability maps')
        for pa, pb in zip(outs['ref'][1], outs['low'][1]):
            cmp.add_probs(pa, pb)
        for name in ('ref', 'low'):
            if evaluators[name] is not None:
                evaluators[name].process(data_samples=outs[name][0], data_batch=copy.deepcopy(batch))
        n += len(outs['ref'][0])
        bar.update(len(outs['ref'][0]))
        if max_samples is not None and n >= max_samples:
            break
    bar.close()
    if n == 0:
        from visionx.utils import DataFormatError
        raise DataFormatError(f'the test set of {cfg.filename} is empty')

    metrics = {name: _numeric(ev.evaluate(n)) if ev is not None else {} for name, ev in evaluators.items()}
    report: dict[str, Any] = dict(
        precision=precision, device=str(device), threads=torch.get_num_threads(), cpu=_cpu_name(),
        fast_bf16=cpu_has_fast_bf16() if device.type == 'cpu' else None, torch=torch.__version__,
        samples=n, warmup=warmup,
        time_s=dict(fp32=times['ref'], low=times['low']),
        speedup=times['ref'] / times['low'] if times['low'] > 0 else None)
    report.update(cmp.report())
    report['metrics'] = dict(fp32=metrics['ref'], low=metrics['low'],
                             delta={k: metrics['low'][k] - v for k, v in metrics['ref'].items()
                                    if k in metrics['low']})
    return report


def format_report(report: dict) -> str:
    """A few lines for the terminal."""
    p = report['precision']
    lines = [f"{report['samples']} samples, {p} vs fp32 on {report['device']} ({report['cpu']}, "
             f"{report['threads']} threads, fast bf16: {report['fast_bf16']})",
             f"time: fp32 {report['time_s']['fp32']:.3f} s, {p} {report['time_s']['low']:.3f} s, "
             f"speed-up {report['speedup'] or float('nan'):.3f}x"]
    if report.get('probability'):
        lines.append(f"probability: max abs diff {report['probability']['max_abs_diff']:.3g}, mean "
                     f"{report['probability']['mean_abs_diff']:.3g}")
    for key in ('mask', 'occupancy'):
        if report.get(key):
            m = report[key]
            lines.append(f"{key} IoU: min {m['iou_min']:.6f}, mean {m['iou_mean']:.6f}, pooled {m['iou_pooled']:.6f};"
                         f" {m['changed']} of {m['total']} labels changed")
    if report.get('mesh'):
        m = report['mesh']
        lines.append(f"mesh IoU (fp32 mesh vs {p} mesh): min {m['iou_min']:.6f}, mean {m['iou_mean']:.6f}")
    for k, d in report['metrics']['delta'].items():
        lines.append(f"metric {k}: fp32 {report['metrics']['fp32'][k]:.6g}, {p} {report['metrics']['low'][k]:.6g},"
                     f" change {d:+.3g}")
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    from visionx.utils import ConfigError, UserFileNotFoundError, atomic_write_json, check_data_roots, load_config
    if not os.path.isfile(args.checkpoint):
        raise UserFileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    if args.max_samples is not None and args.max_samples < 1:
        raise ConfigError(f'--max-samples must be >= 1, got {args.max_samples}')
    if args.warmup < 0:
        raise ConfigError(f'--warmup must be >= 0, got {args.warmup}')
    if args.out:
        from visionx.utils import check_output_path
        check_output_path(args.out, '--out')  # before the test set runs twice
    from mmengine.registry import init_default_scope

    from visionx.apis.inference import apply_runtime_args
    from visionx.utils.config import set_data_root
    device = apply_runtime_args(args)  # --threads, --device; fp16 on CPU fails before anything is built
    precision = args.precision  # resolved by apply_runtime_args

    cfg = load_config(args.config, args.cfg_options)
    from visionx.engine.incremental import is_incremental
    if is_incremental(cfg):
        raise ConfigError(f'{args.config} is a class-incremental task; compare_precision.py takes the config of '
                          'one model (evaluate CISS steps with tools/test.py --precision)')
    if args.data_root:
        set_data_root(cfg, args.data_root)
    if not cfg.get('test_dataloader'):
        raise ConfigError(f'{args.config} has no test_dataloader')
    check_data_roots(cfg, splits=('test',))
    init_default_scope(cfg.get('default_scope', 'visionx'))

    report = dict(config=args.config, checkpoint=args.checkpoint)
    report.update(compare(cfg, args.checkpoint, precision, device, args.max_samples, args.warmup))
    print(format_report(report))
    if args.out:
        atomic_write_json(args.out, report)
        print(f'report written to {args.out}')
    return 0


if __name__ == '__main__':
    run_tool(main)
