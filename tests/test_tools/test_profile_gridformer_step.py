"""tools/analysis/profile_gridformer_step.py: its convolution FLOPs equal a count by hand of the model's
convolutions, its time groups add up to the profiled step, and the report is written as JSON."""
from __future__ import annotations

import importlib.util
import json

import pytest
import torch

from tests.conftest import REPO_ROOT


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location(
        'vx_profile_gridformer_step', REPO_ROOT / 'tools' / 'analysis' / 'profile_gridformer_step.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hand_conv_gflop(batch: int, points: int, queries: int, resolution: int) -> float:
    """Forward convolution FLOPs (2 per multiply-add, no bias) of the same model on the same inputs, from the
    layer shapes seen by forward hooks; backward computes the input and weight gradients of every layer
    (every input needs a gradient: the planes come from the stem's features), so the step counts 3x."""
    from mmengine.registry import init_default_scope

    from visionx.registry import MODELS
    init_default_scope('visionx')
    model = MODELS.build(dict(type='GridFormer', encoder=dict(resolution=resolution), decoder=dict()))
    total = []

    def hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1]
        if isinstance(m, torch.nn.ConvTranspose2d):  # every input pixel meets every kernel tap once
            n, cin, h, w = inp[0].shape
            total.append(2 * n * cin * m.out_channels * k * h * w)
        else:
            n, cout, h, w = out.shape
            total.append(2 * n * cout * (m.in_channels // m.groups) * k * h * w)

    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            m.register_forward_hook(hook)
    x = torch.rand(batch, points, 3) - 0.5
    model(x, dict(points=torch.rand(batch, queries, 3) - 0.5,
                  points_occ=torch.zeros(batch, queries)), mode='loss')
    return 3 * sum(total) / 1e9


def test_small_step_report(tool, tmp_path):
    out = tmp_path / 'r' / 'profile.json'
    argv = ['--batch-size', '1', '--points', '200', '--queries', '64', '--resolution', '8', '--iters', '1',
            '--sgemm-size', '256', '--out', str(out)]
    assert tool.main(argv) == 0
    report = json.loads(out.read_text())
    assert report['batch'] == 1 and report['resolution'] == 8 and report['step_s'] > 0
    assert report['flops']['convolution']['gflop'] == pytest.approx(hand_conv_gflop(1, 200, 64, 8), rel=1e-9)
    assert report['flops']['matmul']['gflop'] > 0 and report['sgemm_gflops'] > 0 and report['sgemm_size'] == 256
    prof = report['profile']
    assert sum(prof[g]['self_s'] for g in tool.GROUPS) == pytest.approx(prof['total_self_s'])
    assert sum(prof[g]['share'] for g in tool.GROUPS) == pytest.approx(1.0)
    assert prof['convolution']['self_s'] > 0 and prof['grid_sample']['self_s'] > 0


@pytest.mark.parametrize('name, group', [('aten::convolution_backward', 'convolution'),
                                         ('aten.convolution.default', 'convolution'), ('aten::mm', 'matmul'),
                                         ('aten.addmm', 'matmul'), ('aten::grid_sampler_2d_backward', 'grid_sample'),
                                         ('aten::scatter_add_', 'scatter_gather'),
                                         ('torch_scatter::scatter_max', 'scatter_gather'), ('aten::add', 'other')])
def test_op_groups(tool, name, group):
    assert tool.op_group(name) == group


def test_bad_sizes_are_a_user_error(tool):
    from visionx.utils import ConfigError
    with pytest.raises(ConfigError, match='>= 1'):
        tool.main(['--iters', '0'])
