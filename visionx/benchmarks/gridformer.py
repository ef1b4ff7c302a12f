"""Benchmark cases of GridFormer (``tools/benchmark.py --case NAME``).

* ``gridformer_train``: training iterations/s and peak memory of the paper's 3-plane model at the paper's
  point counts (3,000 inputs, 2,048 queries), batch 4 by default (the official code: 5.4 s/step on 2 CPU
  cores, PERFORMANCE.md); ``GF_BENCH_BATCH`` / ``GF_BENCH_VOLUME=1`` change batch / use the 64^3 model.
* ``gridformer_decoder``: decoder query throughput (points/s) with the encoding reused.
* ``gridformer_meshing``: sparse marching cubes seconds at 128^3 and 256^3 on a random-weight model.
"""
from __future__ import annotations

import os

import torch

from . import measure, register_case


def _model(volume: bool = False):
    from visionx.registry import MODELS
    torch.manual_seed(0)
    enc = dict(plane_type=('grid',)) if volume else dict()
    return MODELS.build(dict(type='GridFormer', encoder=enc, decoder=dict()))


def _device() -> torch.device:
    return torch.device('cuda' if torch.cuda.is_available() else 'cpu')


@register_case('gridformer_train')
def train_case(args=None) -> list:
    """One 3-plane GridFormer training step (forward, backward, Adam): batch 4, 3,000 inputs, 2,048 queries."""
    dev = _device()
    batch = int(os.environ.get('GF_BENCH_BATCH', '4'))
    model = _model(os.environ.get('GF_BENCH_VOLUME') == '1').to(dev).train()
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    x = torch.rand(batch, 3000, 3, device=dev) - 0.5
    ds = dict(points=torch.rand(batch, 2048, 3, device=dev) - 0.5,
              points_occ=(torch.rand(batch, 2048, device=dev) > 0.5).float())

    def step():
        loss = model(x, ds, mode='loss')['loss_occ']
        opt.zero_grad()
        loss.backward()
        opt.step()

    return [measure(step, case='gridformer_train', unit='steps', iters=5, warmup=1, device=dev,
                    extra=dict(batch=batch, params=sum(p.numel() for p in model.parameters())))]


@register_case('gridformer_decoder')
def decoder_case(args=None) -> list:
    """Decoder query throughput (points/s) on one encoded point cloud, 100k queries per call."""
    dev = _device()
    model = _model().to(dev).eval()
    with torch.inference_mode():
        feats = model.encode(torch.rand(1, 3000, 3, device=dev) - 0.5)
        q = torch.rand(1, 100000, 3, device=dev) - 0.5
        return [measure(lambda: model.decode(q, feats, chunk=100000), case='gridformer_decoder', unit='points',
                        items_per_iter=q.shape[1], iters=5, warmup=1, device=dev)]


@register_case('gridformer_meshing')
def meshing_case(args=None) -> list:
    """Sparse marching-cubes mesh extraction time at 128^3 and 256^3 (untrained network)."""
    dev = _device()
    model = _model().to(dev).eval()
    # a sphere of input points: the random-weight network decides the occupancy, the seeds fix the work
    pts = torch.randn(3000, 3, device=dev)
    pts = 0.4 * pts / pts.norm(dim=1, keepdim=True)
    with torch.inference_mode():
        feats = model.encode(pts[None])
    out = []
    for res in (128, 256):
        out.append(measure(lambda: model.extract_mesh(feats, pts, resolution=res), case=f'gridformer_mesh_{res}',
                           unit='meshes', iters=2, warmup=0, device=dev, extra=dict(resolution=res)))
    return out
