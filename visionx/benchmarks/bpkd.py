"""Benchmark case for BPKD: what distillation adds to a student's training step.

``tools/benchmark.py --case bpkd_train_step [--batch-size N] [--iters N] [--device cuda]
[--cfg-options config=configs/bpkd/bpkd_....py]``

Rows (one SGD step each, on random images and the generated labels of the demo data generator):

- ``student``: the student alone (its decode and auxiliary losses);
- ``student+teacher``: the same plus the teacher's forward (eval, ``no_grad``), its logits unused;
- ``student+bpkd`` (or ``+cwd``, whatever the config's ``distill_losses`` are): the full
  :class:`~visionx.models.distillers.KDEncoderDecoder` step, masks and distillation losses included.

``extra`` reports ``teacher_forward_s`` (row 2 - row 1) and ``distill_losses_s`` (row 3 - row 2) and their
ratio ``distill_vs_teacher`` (the goal is < 0.1).  The teacher keeps random weights: timing does not depend
on them.  Default config: PSPNet-R101 -> PSPNet-R18 on Cityscapes, at the config's crop and batch.
"""
from __future__ import annotations

import numpy as np
import torch

from . import BenchResult, measure, register_case

DEFAULT_CONFIG = 'configs/bpkd/bpkd_pspnet_r101-d8_pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py'


def _batch(batch: int, size: tuple[int, int], num_classes: int, device: torch.device, seed: int = 0):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from visionx.datasets.semseg.synthetic import paint_scene
    rng = np.random.default_rng(seed)
    imgs, samples = [], []
    for _ in range(batch):
        img, label = paint_scene(rng, size[0], size[1], num_classes=min(num_classes, 20), n_shapes=12)
        imgs.append(torch.from_numpy(img).permute(2, 0, 1).float())
        ds = SegDataSample(gt_sem_seg=PixelData(data=torch.from_numpy(label.astype(np.int64))[None].to(device)))
        ds.set_metainfo(dict(img_shape=size, ori_shape=size, pad_shape=size))
        samples.append(ds)
    x = torch.stack(imgs).to(device)
    return (x - x.mean()) / x.std(), samples


@register_case('bpkd_train_step')
def bpkd_train_step(args) -> list[BenchResult]:
    """Seconds per training step and peak memory: student, + teacher forward, + distillation losses."""
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope

    from visionx.registry import MODELS
    opts = dict(getattr(args, 'cfg_options', None) or {})
    cfg = Config.fromfile(opts.get('config', DEFAULT_CONFIG))
    if cfg.model.get('type') != 'KDEncoderDecoder':
        raise ValueError(f'bpkd_train_step needs a KDEncoderDecoder config, got model type {cfg.model.get("type")}')
    init_default_scope('visionx')
    device = torch.device(getattr(args, 'device', None) or ('cuda' if torch.cuda.is_available() else 'cpu'))
    batch = int(getattr(args, 'batch_size', None) or cfg.train_dataloader.batch_size)
    size = tuple(cfg.model.student.data_preprocessor.get('size') or cfg.crop_size)
    iters, warmup = getattr(args, 'iters', None), getattr(args, 'warmup', None)
    iters, warmup = (3 if iters is None else int(iters)), (1 if warmup is None else int(warmup))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        model.student = revert_sync_batchnorm(model.student)
        revert_sync_batchnorm(model.teacher)  # converts the teacher's children in place
    model.to(device).train()
    num_classes = model.student.decode_head.num_classes
    x, samples = _batch(batch, size, num_classes, device)
    opt = torch.optim.SGD(model.student.parameters(), lr=0.01, momentum=0.9)
    losses_name = '+'.join(type(loss).__name__ for loss in model.distill_losses)

    def student_step():
        opt.zero_grad(set_to_none=True)
        sum(v for k, v in model.student.loss(x, samples).items() if 'loss' in k).backward()
        opt.step()

    def teacher_step():
        model.teacher_logits(x)
        student_step()

    def kd_step():
        opt.zero_grad(set_to_none=True)
        sum(v for k, v in model.loss(x, samples).items() if 'loss' in k).backward()
        opt.step()

    extra = dict(size=list(size), batch=batch, config=opts.get('config', DEFAULT_CONFIG))
    rows = [measure(fn, case=f'bpkd_train_step/{name}', unit='images', items_per_iter=batch, iters=iters,
                    warmup=warmup, device=device, extra=dict(extra))
            for name, fn in (('student', student_step), ('student+teacher', teacher_step),
                             (f'student+teacher+{losses_name}', kd_step))]
    med = [float(np.median(r.latencies_s)) for r in rows]
    teacher_s, distill_s = med[1] - med[0], med[2] - med[1]
    rows[2].extra.update(teacher_forward_s=round(teacher_s, 4), distill_losses_s=round(distill_s, 4),
                         distill_vs_teacher=round(distill_s / teacher_s, 3) if teacher_s > 0 else None)
    return rows
