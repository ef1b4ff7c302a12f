"""AutoAmpOptimWrapper: AMP where an accelerator is present, plain fp32 training on CPU, portable state."""
from __future__ import annotations

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

from tests.conftest import REPO_ROOT
from visionx.engine.optimizers import AutoAmpOptimWrapper, amp_available
from visionx.registry import OPTIM_WRAPPERS


def _model_and_batch():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    return model, torch.randn(16, 4), torch.randn(16, 1)


def _train(wrapper_cls, steps: int = 3, **kwargs):
    model, x, y = _model_and_batch()
    wrapper = wrapper_cls(optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), **kwargs)
    for _ in range(steps):
        with wrapper.optim_context(model):
            loss = torch.nn.functional.mse_loss(model(x), y)
        wrapper.update_params(loss)
    return model, wrapper


@pytest.mark.skipif(amp_available(), reason='checks the CPU fallback')
def test_cpu_fallback_trains_exactly_like_optim_wrapper():
    auto_model, auto = _train(AutoAmpOptimWrapper, clip_grad=dict(max_norm=12))
    plain_model, _ = _train(OptimWrapper, clip_grad=dict(max_norm=12))
    assert auto.amp_enabled is False
    for a, b in zip(auto_model.parameters(), plain_model.parameters()):
        assert torch.equal(a, b)
    state = auto.state_dict()
    assert 'loss_scaler' not in state
    # a checkpoint written with AMP on a GPU (it has a loss-scaler state) resumes on CPU
    model, _, _ = _model_and_batch()
    fresh = AutoAmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    fresh.load_state_dict({**state, 'loss_scaler': {'scale': 1024.0, 'growth_factor': 2.0}})
    assert fresh.optimizer.state_dict()['state'].keys() == auto.optimizer.state_dict()['state'].keys()


def test_topomortar_configs_build_it():
    init_default_scope('visionx')
    cfg = Config.fromfile(str(REPO_ROOT / 'configs/topomortar/cldice_dynunet_1xb10-12k_topomortar-512x512.py'))
    assert cfg.optim_wrapper.type == 'AutoAmpOptimWrapper'
    model = torch.nn.Linear(2, 2)
    wrapper = OPTIM_WRAPPERS.build({**cfg.optim_wrapper, 'optimizer': torch.optim.SGD(model.parameters(), lr=0.01)})
    assert isinstance(wrapper, AutoAmpOptimWrapper) and wrapper.amp_enabled == amp_available()
