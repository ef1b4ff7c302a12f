"""Benchmark cases for TopoMortar: one training step per topology loss, relative to CE+Dice.

``tools/benchmark.py --case topomortar_losses [--batch-size 10] [--iters N] [--device cuda]
[--sizes 512] [--losses clDiceLoss,WarpingLoss]`` (``--cfg-options size=.. losses=..`` is still read).

A step is: DynUNet (TopoMortar's network, 6 deep-supervision heads) forward, the deep-supervised loss,
backward and an SGD update, on synthetic brick-wall labels.  Scheduled losses are measured in their
active phase (training progress set to 1 in the ``MessageHub``); the topology term acts on the main output
only, as in training.  Each row's ``extra`` holds time and peak memory relative to CE+Dice.
"""
from __future__ import annotations

import numpy as np
import torch

from visionx.utils import ConfigError

from . import BenchResult, measure, register_case
from .interleave import measure_interleaved

LOSSES = ('CEDiceLoss', 'clDiceLoss', 'SkeletonRecallLoss', 'cbDiceLoss', 'RegionWiseLoss', 'WarpingLoss',
          'PersistentHomologyLoss', 'ConnectivityMALISLoss')


def _batch(batch: int, size: int, device: torch.device, seed: int = 0):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from visionx.datasets.topomortar.synthetic import render_wall
    rng = np.random.default_rng(seed)
    imgs, samples = [], []
    for _ in range(batch):
        img, mortar = render_wall(rng, size)
        x = torch.from_numpy(img.astype(np.float32)).permute(2, 0, 1)
        imgs.append((x - x.mean((1, 2), keepdim=True)) / x.std((1, 2), keepdim=True))
        ds = SegDataSample()
        ds.gt_sem_seg = PixelData(data=torch.from_numpy(mortar.astype(np.int64))[None].to(device))
        samples.append(ds)
    return torch.stack(imgs).to(device), samples


def _options(args, size: int, batch: int) -> tuple[int, int, list[str], torch.device, int, int]:
    """Size, batch, loss names, device, iterations and warm-up of a case from the benchmark arguments."""
    opts = dict(getattr(args, 'cfg_options', None) or {})  # older spelling: --cfg-options size=.. losses=..
    names = getattr(args, 'losses', None) or opts.get('losses', LOSSES)
    names = names.split(',') if isinstance(names, str) else list(names)
    sizes = getattr(args, 'sizes', None)
    size = sizes[0] if sizes else int(opts.get('size', size))
    device = torch.device(getattr(args, 'device', None) or ('cuda' if torch.cuda.is_available() else 'cpu'))
    warmup = getattr(args, 'warmup', None)
    return (size, int(getattr(args, 'batch_size', None) or batch), names, device,
            int(getattr(args, 'iters', 3) or 3), 1 if warmup is None else int(warmup))


@register_case('topomortar_losses')
def topomortar_losses(args) -> list[BenchResult]:
    """Time and peak memory of one training step per TopoMortar loss (default 512 px, batch 10)."""
    from mmengine.logging import MessageHub
    from mmengine.registry import init_default_scope

    from visionx.utils.progress import PROGRESS_KEY
    from visionx.registry import MODELS
    init_default_scope('visionx')
    size, batch, names, device, iters, warmup = _options(args, size=512, batch=10)
    x, samples = _batch(batch, size, device)
    hub = MessageHub.get_current_instance()
    hub.update_info(PROGRESS_KEY, 1.0)
    rows, ref = [], None
    try:
        for name in names:
            if name == 'PersistentHomologyLoss':
                try:
                    import gudhi  # noqa: F401
                except ImportError:
                    continue
            torch.manual_seed(0)
            out_channels = 1 if name == 'ConnectivityMALISLoss' else 2  # TOPO regresses one distance channel
            model = MODELS.build(dict(type='DeepSupervisionSegmentor',
                                      network=dict(type='MonaiDynUNet', out_channels=out_channels),
                                      loss=dict(type=name),
                                      data_preprocessor=dict(type='SegDataPreProcessor', size_divisor=128)))
            model.to(device).train()
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.99, nesterov=True, weight_decay=3e-5)

            def step():
                opt.zero_grad(set_to_none=True)
                losses = model.loss(x, samples)
                sum(losses.values()).backward()
                opt.step()

            res = measure(step, case=f'topomortar_losses/{name}', unit='images', items_per_iter=batch,
                          iters=iters, warmup=warmup, device=device,
                          extra=dict(size=size, batch=batch))
            med = float(np.median(res.latencies_s))
            if name == 'CEDiceLoss':
                ref = (med, res.peak_mem_mb)
            if ref is not None:
                res.extra.update(time_vs_cedice=round(med / ref[0], 3),
                                 mem_vs_cedice=round(res.peak_mem_mb / ref[1], 3))
            rows.append(res)
            del model, opt
            if device.type == 'cuda':
                torch.cuda.empty_cache()
    finally:
        hub.pop_info(PROGRESS_KEY, None)
    return rows


def _tubes_3d(batch: int, size: int, seed: int = 0) -> torch.Tensor:
    """(B, S, S, S) labels of random straight tubes (radius 2-4 voxels) crossing the volume."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*(np.arange(size),) * 3, indexing='ij'), -1).astype(np.float32)
    labels = np.zeros((batch, size, size, size), np.int64)
    for b in range(batch):
        for _ in range(6):
            p = rng.uniform(0, size, 3)
            d = rng.normal(size=3)
            d /= np.linalg.norm(d)
            rel = grid - p
            dist = np.linalg.norm(rel - (rel @ d)[..., None] * d, axis=-1)
            labels[b][dist < rng.uniform(2, 4)] = 1
    return torch.from_numpy(labels)


@register_case('topology_losses_3d')
def topology_losses_3d(args) -> list[BenchResult]:
    """Forward + backward of each topology loss alone on 3-D logits (default 96^3, batch 2), vs CE+Dice.

    The losses are timed interleaved (:func:`~visionx.benchmarks.interleave.measure_interleaved`);
    ``time_vs_cedice`` is the median paired ratio ``t_loss / t_CE+Dice``.
    ``--cfg-options size=96 losses=cbDiceLoss,WarpingLoss``.  The logits are a noisy version of random tube
    labels (so skeletons, warps and diagrams have realistic work); no network runs, the rows isolate the
    cost of the losses' own CPU/GPU work.  Scheduled losses are measured with their topology term on.
    """
    from mmengine.registry import init_default_scope

    from visionx.registry import MODELS
    init_default_scope('visionx')
    size, batch, names, device, iters, warmup = _options(args, size=96, batch=2)
    labels = _tubes_3d(batch, size).to(device)
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn((batch, 1, size, size, size), generator=gen).to(device)
    fg_logit = (labels[:, None].float() * 2 - 1) * 2 + noise
    steps = {}
    for name in names:
        channels = 1 if name == 'ConnectivityMALISLoss' else 2
        base = fg_logit * 3 if name == 'ConnectivityMALISLoss' else torch.cat([torch.zeros_like(fg_logit), fg_logit], 1)
        logits = base.clone().requires_grad_(True)
        loss = MODELS.build(dict(type=name))
        kwargs = {'gate': True} if name in ('WarpingLoss', 'PersistentHomologyLoss') else {}
        assert logits.shape[1] == channels

        def step(logits=logits, loss=loss, kwargs=kwargs):
            logits.grad = None
            loss(logits, labels, **kwargs).backward()
        steps[name] = step
    # the losses interleaved (A B C .., .. C B A); time_vs_cedice = median paired t_loss / t_CE+Dice
    baseline = 'CEDiceLoss' if 'CEDiceLoss' in steps else None
    rows = measure_interleaved(steps, case='topology_losses_3d', unit='volumes', items_per_iter=batch,
                               rounds=iters, warmup=warmup, device=device, baseline=baseline,
                               extra={n: dict(size=size, batch=batch) for n in steps})
    ref = next((r for r in rows if r.extra.get('variant') == baseline), None)
    for res in rows:
        res.case = res.case.replace('topology_losses_3d:', 'topology_losses_3d/', 1)
        if ref is not None:  # the rounds are paired: round i of every loss ran in the same sweep
            ratio = np.median([t / r for t, r in zip(res.latencies_s, ref.latencies_s)])
            res.extra.update(time_vs_cedice=round(float(ratio), 1))
    return rows


CEDICE_VARIANTS = ('minimal', 'visionx', 'general')


@register_case('cedice_loss')
def cedice_loss_case(args) -> list[BenchResult]:
    """CE+Dice forward+backward alone on (B, 2, S, S) logits (default 4 x 2 x 512^2), variants interleaved.

    ``minimal`` (the baseline): ``F.cross_entropy`` + soft Dice in a few lines, no ignore handling or
    label check; ``visionx``: the registered ``CEDiceLoss`` (ignore_index 255, label range check);
    ``general``: the general path every topology loss shares (``prepare`` + ``ce_term`` + ``dice_term``),
    which ``CEDiceLoss`` used for integer labels before.  ``--sizes``, ``--batch-size``, ``--variants``.
    """
    import torch.nn.functional as F

    from visionx.models.losses.topology.common import ce_term, dice_term, prepare
    from visionx.models.losses.topology.losses import CEDiceLoss
    size, batch, _, device, iters, warmup = _options(args, size=512, batch=4)
    variants = list(getattr(args, 'variants', None) or CEDICE_VARIANTS)
    unknown = [v for v in variants if v not in CEDICE_VARIANTS]
    if unknown:
        raise ConfigError(f'unknown cedice_loss variants {unknown}; known: {", ".join(CEDICE_VARIANTS)}')
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(batch, 2, size, size, generator=gen).to(device).requires_grad_(True)
    labels = (torch.rand(batch, size, size, generator=gen) > 0.8).long().to(device)
    module = CEDiceLoss()

    def minimal():
        ce = F.cross_entropy(logits, labels)
        p = logits.softmax(1)
        y = F.one_hot(labels, 2).movedim(-1, 1).float()
        dice = (2 * (p * y).sum((2, 3)) + 1e-5) / (y.sum((2, 3)) + p.sum((2, 3)) + 1e-5)
        return ce + 1 - dice.mean()

    def general():
        log_p, p, y, valid = prepare(logits, labels, 255)
        return ce_term(log_p, y, valid) + dice_term(p, y, valid)

    fns = dict(minimal=minimal, visionx=lambda: module(logits, labels), general=general)
    values = {v: float(fns[v]()) for v in variants}

    def step(fn):
        logits.grad = None
        fn().backward()

    return measure_interleaved({v: (lambda fn=fns[v]: step(fn)) for v in variants}, case='cedice_loss',
                               unit='batches', rounds=iters, warmup=warmup, device=device,
                               extra={v: dict(size=size, batch=batch, loss=values[v]) for v in variants})


@register_case('topomortar_augment')
def topomortar_augment_case(args) -> list[BenchResult]:
    """Data time per sample of the TopoMortar training augmentation on --sizes (512) images, 128^2 patches.

    Variants (interleaved; samples/s, speed-up against ``official``): ``official`` (``TopoMortarAugment``
    on the whole image, then ``RandomCrop`` 128, the demo config's order), ``crop-first``
    (``TopoMortarAugment(crop_size=(128, 128))``).  One timed call runs ``--batch-size`` (default 8)
    samples of rendered brick walls; ``latency / batch`` is the data time per sample.
    """
    from mmseg.datasets.transforms import RandomCrop

    from visionx.datasets.topomortar.synthetic import render_wall
    from visionx.datasets.topomortar.transforms import TopoMortarAugment
    size, batch, _, _, iters, warmup = _options(args, size=512, batch=8)
    rng = np.random.default_rng(0)
    walls = [render_wall(rng, size) for _ in range(batch)]
    samples = [dict(img=img.astype(np.float32), gt_seg_map=mortar.astype(np.uint8)) for img, mortar in walls]
    official, crop = TopoMortarAugment(), RandomCrop(crop_size=(128, 128))
    first = TopoMortarAugment(crop_size=(128, 128))

    def run(fn):
        for s in samples:
            fn(dict(s, img=s['img'].copy(), gt_seg_map=s['gt_seg_map'].copy(), img_shape=s['img'].shape[:2]))

    fns = {'official': lambda: run(lambda r: crop(official(r))), 'crop-first': lambda: run(first)}
    variants = list(getattr(args, 'variants', None) or fns)
    unknown = [v for v in variants if v not in fns]
    if unknown:
        raise ConfigError(f'unknown topomortar_augment variants {unknown}; known: {", ".join(fns)}')
    np.random.seed(0)
    return measure_interleaved({v: fns[v] for v in variants}, case='topomortar_augment', unit='samples',
                               items_per_iter=batch, rounds=iters, warmup=warmup,
                               extra={v: dict(size=size, crop=128, batch=batch) for v in variants})
