"""The basnet_infer benchmark case: every variant runs and matches the plain fp32 output."""
import pytest
import torch

from visionx.benchmarks import load_cases
from visionx.benchmarks.basnet import run_grid


def test_basnet_case_registered_and_cpu_variants_agree():
    assert 'basnet_infer' in load_cases()
    rows = run_grid(torch.device('cpu'), ['eager', 'fused', 'fused-cl'], sizes=[32], batches=[1], iters=1,
                    warmup=0)
    assert [r.extra['variant'] for r in rows] == ['eager', 'fused', 'fused-cl']
    for r in rows:
        s = r.summary()
        assert s['params'] == 87_060_360 and s['throughput'] > 0 and s['unit'] == 'images/s'
        assert r.extra['max_abs_diff'] < 1e-4
    with pytest.raises(ValueError, match='unknown'):
        import os
        os.environ['BASNET_BENCH_VARIANTS'] = 'warp-drive'
        try:
            load_cases()['basnet_infer'](None)
        finally:
            del os.environ['BASNET_BENCH_VARIANTS']
