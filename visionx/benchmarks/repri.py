"""Benchmark case for RePRI's transductive inference: tasks per second and peak memory.

``tools/benchmark.py --case repri_episodes [--device cuda] [--iters N]
[--cfg-options tasks=1,50,200 shot=1 channels=512 feat=53 size=417 adapt_iter=50]``

One iteration fits ``tasks`` independent per-task classifiers jointly (RePRI's ``batch_size_val``) on
cached bottleneck features — (T, K, 512, 53, 53) supports, (T, 1, 512, 53, 53) query, 417×417 masks — and
predicts the query masks in the 417×417 frame, i.e. everything the official ``Classifier`` does per group
of tasks after feature extraction (the backbone is not timed).  Features are normalised and their norms
and the downsampled masks computed once per group, not per SGD step.
"""
from __future__ import annotations

import torch

from . import BenchResult, measure, register_case


def _tasks(n: int, shot: int, channels: int, feat: int, size: int, device: torch.device, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    f_s = torch.relu(torch.randn(n, shot, channels, feat, feat, generator=g)).to(device)
    f_q = torch.relu(torch.randn(n, 1, channels, feat, feat, generator=g)).to(device)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing='ij')
    blob = (((yy - size / 2) ** 2 + (xx - size / 2) ** 2) < (size / 4) ** 2).long()
    m_s = blob.expand(n, shot, size, size).clone()
    m_q = blob.expand(n, 1, size, size).clone()
    m_q[..., size - 40:, :] = 255  # padding rows, as the resized/padded frame has
    return f_s, f_q, m_s.to(device), m_q.to(device)


@register_case('repri_episodes')
def repri_episodes(args) -> list[BenchResult]:
    """RePRI fit + predict for 1, 50 and 200 tasks (1-shot, 512×53×53 features, 417×417 masks)."""
    from visionx.models.fewshot import RePRIClassifier
    opts = dict(getattr(args, 'cfg_options', None) or {})
    tasks = opts.get('tasks', (1, 50, 200))
    tasks = [int(t) for t in (tasks.split(',') if isinstance(tasks, str) else
                              (tasks if isinstance(tasks, (list, tuple)) else [tasks]))]
    shot, channels = int(opts.get('shot', 1)), int(opts.get('channels', 512))
    feat, size = int(opts.get('feat', 53)), int(opts.get('size', 417))
    clf = RePRIClassifier(adapt_iter=int(opts.get('adapt_iter', 50)))
    device = torch.device(getattr(args, 'device', None) or ('cuda' if torch.cuda.is_available() else 'cpu'))
    iters, warmup = getattr(args, 'iters', None), getattr(args, 'warmup', None)
    iters, warmup = 3 if iters is None else int(iters), 1 if warmup is None else int(warmup)  # 0 warm-ups is valid
    rows = []
    for n in tasks:
        f_s, f_q, m_s, m_q = _tasks(n, shot, channels, feat, size, device)

        def step():
            state = clf.fit(f_s, f_q, m_s, m_q)
            return clf.predict(state, f_q, (size, size))

        rows.append(measure(step, case=f'repri_episodes/T{n}', unit='tasks', items_per_iter=n, iters=iters,
                            warmup=warmup, device=device,
                            extra=dict(tasks=n, shot=shot, channels=channels, feat=feat, size=size,
                                       steps=clf.adapt_iter - 1)))
        del f_s, f_q, m_s, m_q
        if device.type == 'cuda':
            torch.cuda.empty_cache()
    return rows
