"""Benchmark cases take their sizes from the CLI flags (no environment variables)."""
from types import SimpleNamespace

import pytest

from visionx.benchmarks import load_cases
from visionx.utils import ConfigError


def test_unknown_variants_are_rejected_before_any_model_is_built():
    args = SimpleNamespace(device='cpu', batch_size=1, points=64, queries=32, iters=1, warmup=0,
                           variants=['int4'], volume_model=False)
    with pytest.raises(ConfigError, match='unknown GridFormer benchmark variants'):
        load_cases()['gridformer_train'](args)


def test_benchmark_tool_parses_size_lists():
    import importlib.util

    from tests.conftest import REPO_ROOT
    spec = importlib.util.spec_from_file_location('vx_bench_tool', REPO_ROOT / 'tools' / 'benchmark.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    args = tool.parse_args(['--case', 'basnet_infer', '--sizes', '256,320', '--batches', '1,8', '--variants',
                            'eager,bf16', '--volume', '144,144,88'])
    assert args.sizes == [256, 320] and args.batches == [1, 8] and args.variants == ['eager', 'bf16']
    assert args.volume == [144, 144, 88]
    with pytest.raises(SystemExit):
        tool.parse_args(['--case', 'x', '--sizes', '256,a'])
    with pytest.raises(SystemExit):
        tool.parse_args(['--case', 'x', '--batches', '0'])
