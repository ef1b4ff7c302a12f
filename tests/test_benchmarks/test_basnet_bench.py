"""The basnet_infer benchmark case: variants interleaved, every variant matches the plain fp32 output."""
from types import SimpleNamespace

import pytest
import torch

from visionx.benchmarks import load_cases
from visionx.benchmarks.basnet import run_grid
from visionx.utils import ConfigError


def test_basnet_case_registered_and_cpu_variants_agree():
    assert 'basnet_infer' in load_cases()
    rows = run_grid(torch.device('cpu'), ['fused', 'fused-cl'], sizes=[32], batches=[1], iters=1, warmup=0)
    # eager (the baseline) is always added first; rows carry the paired ratio against it
    assert [r.extra['variant'] for r in rows] == ['eager', 'fused', 'fused-cl']
    assert rows[0].extra['speedup'] == 1.0 and rows[0].extra['max_abs_diff'] == 0.0
    for r in rows:
        s = r.summary()
        assert s['params'] == 87_060_360 and s['throughput'] > 0 and s['unit'] == 'images/s'
        assert len(r.latencies_s) == 1 and r.extra['baseline'] == 'eager' and r.extra['speedup'] > 0
        assert r.extra['max_abs_diff'] < 1e-4
    with pytest.raises(ConfigError, match='unknown basnet_infer variants'):
        load_cases()['basnet_infer'](SimpleNamespace(variants=['warp-drive'], device='cpu'))
    with pytest.raises(ConfigError, match='fp16 needs a CUDA device'):
        run_grid(torch.device('cpu'), ['fp16'], sizes=[32], batches=[1], iters=1, warmup=0)
