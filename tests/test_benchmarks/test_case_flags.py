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


def _tool():
    import importlib.util

    from tests.conftest import REPO_ROOT
    spec = importlib.util.spec_from_file_location('vx_bench_tool_defaults', REPO_ROOT / 'tools' / 'benchmark.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_cases_keep_their_own_round_defaults():
    """Without --iters / --warmup the cases get None and use their documented defaults (e.g. 2 meshing
    rounds at 256^3, not CONFIG mode's 10 + 2)."""
    tool = _tool()
    args = tool.parse_args(['--case', 'gridformer_meshing'])
    assert args.iters is None and args.warmup is None
    args = tool.parse_args(['--case', 'gridformer_meshing', '--iters', '4', '--warmup', '0'])
    assert (args.iters, args.warmup) == (4, 0)
    with pytest.raises(SystemExit):
        tool.parse_args(['--case', 'x', '--iters', '0'])


def test_config_mode_precisions_need_fp32_first():
    tool = _tool()
    args = SimpleNamespace(variants=['bf16', 'fp32'])
    with pytest.raises(ConfigError, match='the first must be fp32'):
        tool._config_precisions(args, None, None, 'x', 1, 'cpu', 0)
