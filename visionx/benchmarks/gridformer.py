"""Benchmark cases of GridFormer (``tools/benchmark.py --case NAME``).

* ``gridformer_train``: training steps/s of the paper's 3-plane model (``--volume-model``: the 64^3 grid
  model) at the paper's point counts (``--points 3000``, ``--queries 2048``), ``--batch-size`` 4 by default.
  ``--variants`` (interleaved; the first is the baseline): ``fp32`` (today's step), ``bf16`` (the same step
  under ``torch.autocast('cpu'|'cuda', bfloat16)``).
* ``gridformer_decoder``: decoder query throughput (points/s) with the encoding reused, ``--queries``
  (default 100,000) per call; variants ``fp32`` / ``bf16`` / ``auto`` as the mesh-export demo runs them.
* ``gridformer_meshing``: sparse marching cubes seconds at the ``--sizes`` resolutions (default 128, 256)
  on a random-weight model; variants as the decoder.
"""
from __future__ import annotations

import torch

from visionx.utils import ConfigError

from . import register_case
from .interleave import default_variants, measure_interleaved

TRAIN_VARIANTS = ('fp32', 'bf16')
INFER_VARIANTS = ('fp32', 'bf16', 'auto')


def _model(volume: bool = False):
    from visionx.registry import MODELS
    torch.manual_seed(0)
    enc = dict(plane_type=('grid',)) if volume else dict()
    return MODELS.build(dict(type='GridFormer', encoder=enc, decoder=dict()))


def _device(args) -> torch.device:
    dev = getattr(args, 'device', None)
    return torch.device(dev if dev else ('cuda' if torch.cuda.is_available() else 'cpu'))


def _variants(args, known: tuple[str, ...]) -> list[str]:
    variants = list(getattr(args, 'variants', None) or default_variants(known[:2], _device(args)))
    unknown = [v for v in variants if v not in known]
    if unknown:
        raise ConfigError(f'unknown GridFormer benchmark variants {unknown}; known: {", ".join(known)}')
    return variants


def _opt(args, name: str, default):
    value = getattr(args, name, None)
    return default if value is None else value


@register_case('gridformer_train')
def train_case(args=None) -> list:
    """3-plane GridFormer training step (forward, backward, Adam), variants interleaved; batch 4, 3,000 / 2,048."""
    from visionx.utils.precision import autocast, resolve_precision
    dev = _device(args)
    batch = _opt(args, 'batch_size', 4)
    n_in, n_q = _opt(args, 'points', 3000), _opt(args, 'queries', 2048)
    volume = bool(getattr(args, 'volume_model', False))
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(batch, n_in, 3, generator=gen) - 0.5).to(dev)
    ds = dict(points=(torch.rand(batch, n_q, 3, generator=gen) - 0.5).to(dev),
              points_occ=(torch.rand(batch, n_q, generator=gen) > 0.5).float().to(dev))
    steps, params = {}, 0
    for name in _variants(args, TRAIN_VARIANTS):
        precision = resolve_precision(name, dev)
        model = _model(volume).to(dev).train()
        params = sum(p.numel() for p in model.parameters())
        opt = torch.optim.Adam(model.parameters(), 1e-4)

        def step(model=model, opt=opt, precision=precision):
            with autocast(precision, dev):
                loss = model(x, ds, mode='loss')['loss_occ']
            opt.zero_grad()
            loss.backward()
            opt.step()
        steps[name] = step
    extra = dict(batch=batch, points=n_in, queries=n_q, params=params, volume_model=volume)
    return measure_interleaved(steps, case='gridformer_train', unit='steps', rounds=_opt(args, 'iters', 5),
                               warmup=_opt(args, 'warmup', 1), device=dev, extra={n: extra for n in steps})


def _encoded(dev: torch.device, precision: str, pts: torch.Tensor):
    from visionx.utils.precision import autocast
    model = _model().to(dev).eval()
    with torch.inference_mode(), autocast(precision, dev):
        return model, model.encode(pts[None])


@register_case('gridformer_decoder')
def decoder_case(args=None) -> list:
    """Decoder query throughput (points/s) on one encoded point cloud, --queries (100k) per call."""
    from visionx.utils.precision import autocast, resolve_precision
    dev = _device(args)
    n_q = _opt(args, 'queries', 100000)
    gen = torch.Generator().manual_seed(0)
    pts = (torch.rand(_opt(args, 'points', 3000), 3, generator=gen) - 0.5).to(dev)
    q = (torch.rand(1, n_q, 3, generator=gen) - 0.5).to(dev)
    runs = {}
    for name in _variants(args, INFER_VARIANTS):
        precision = resolve_precision(name, dev)
        model, feats = _encoded(dev, precision, pts)

        def run(model=model, feats=feats, precision=precision):
            with torch.inference_mode(), autocast(precision, dev):
                return model.decode(q, feats, chunk=n_q)
        runs[name] = run
    return measure_interleaved(runs, case='gridformer_decoder', unit='points', items_per_iter=n_q,
                               rounds=_opt(args, 'iters', 5), warmup=_opt(args, 'warmup', 1), device=dev,
                               extra={n: dict(queries=n_q) for n in runs})


@register_case('gridformer_meshing')
def meshing_case(args=None) -> list:
    """Sparse marching-cubes mesh extraction at --sizes resolutions (default 128, 256; untrained network)."""
    from visionx.utils.precision import autocast, resolve_precision
    dev = _device(args)
    # a sphere of input points: the random-weight network decides the occupancy, the seeds fix the work
    pts = torch.randn(_opt(args, 'points', 3000), 3, generator=torch.Generator().manual_seed(0)).to(dev)
    pts = 0.4 * pts / pts.norm(dim=1, keepdim=True)
    out = []
    for res in _opt(args, 'sizes', [128, 256]):
        runs = {}
        for name in _variants(args, INFER_VARIANTS):
            precision = resolve_precision(name, dev)
            model, feats = _encoded(dev, precision, pts)

            def run(model=model, feats=feats, precision=precision, res=res):
                with torch.inference_mode(), autocast(precision, dev):
                    return model.extract_mesh(feats, pts, resolution=res)
            runs[name] = run
        out += measure_interleaved(runs, case=f'gridformer_mesh_{res}', unit='meshes',
                                   rounds=_opt(args, 'iters', 2), warmup=_opt(args, 'warmup', 0), device=dev,
                                   extra={n: dict(resolution=res) for n in runs})
    return out
