"""End-to-end: the CPU demo config trains (loss goes down) and the schedule hook gates WarpingLoss."""
from __future__ import annotations

import numpy as np
from mmengine.runner import Runner

from tests.conftest import REPO_ROOT
from tests.test_engine.tiny_topomortar import tiny_topomortar_cfg

DEMO = REPO_ROOT / 'configs/topomortar/cedice_dynunet-tiny_1xb4-300it_topomortar-demo-128x128.py'


def _cfg(demo_root, tmp_path, iters, loss=None, val=True):
    cfg = tiny_topomortar_cfg(DEMO, demo_root, tmp_path, iters)
    if loss:
        cfg.model.loss = loss
    cfg.train_cfg.update(max_iters=iters, val_interval=iters if val else 10 * iters)
    return cfg


def test_demo_training_lowers_loss(demo_root, tmp_path):
    cfg = _cfg(demo_root, tmp_path, 30)
    runner = Runner.from_cfg(cfg)
    runner.train()
    hist = np.asarray(runner.message_hub.get_scalar('train/loss').data[0])
    assert len(hist) == 30
    assert hist[-5:].mean() < hist[:5].mean() - 0.05
    metrics = runner.val_loop.run()
    assert 0 <= metrics['Dice'] <= 1 and metrics['Betti1Error'] >= 0


def test_schedule_hook_switches_warping_on(demo_root, tmp_path):
    from mmengine.hooks import Hook

    from visionx.models.losses.topology.common import gate_open
    states = []

    class Probe(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            states.append(gate_open(0.7, None))

    cfg = _cfg(demo_root, tmp_path, 10, loss=dict(type='WarpingLoss'), val=False)
    cfg.train_dataloader.batch_size = 1
    runner = Runner.from_cfg(cfg)
    runner.register_hook(Probe())
    runner.train()
    assert states == [False] * 7 + [True] * 3   # (it + 1) / 10 > 0.7 from the 8th iteration


class _Logs:
    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append(msg)


def _fake_runner(model, max_iters, name):
    from types import SimpleNamespace

    from mmengine.logging import MessageHub
    return SimpleNamespace(model=model, max_iters=max_iters, iter=0, train_loop=SimpleNamespace(),
                           message_hub=MessageHub.get_instance(name), logger=_Logs())


def test_schedule_hook_logs_the_losses_own_start_fraction():
    """The switch-on logged is the loss's start_fraction (0.5 -> iteration 6 of 10), not a hook argument."""
    import torch.nn as nn

    from visionx.engine.hooks.topology import TopologyLossScheduleHook
    from visionx.models.losses.topology import WarpingLoss
    from visionx.utils.progress import PROGRESS_KEY

    model = nn.Module()
    model.loss = WarpingLoss(start_fraction=0.5)
    runner = _fake_runner(model, 10, 'test_schedule_hook_logs')
    hook = TopologyLossScheduleHook()
    hook.before_train(runner)
    for it in range(10):
        runner.iter = it
        hook.before_train_iter(runner, it)
        # progress (it + 1) / 10 is published for the losses' gate
        assert runner.message_hub.get_info(PROGRESS_KEY) == (it + 1) / 10
    assert len(runner.logger.lines) == 1
    line = runner.logger.lines[0]
    assert 'WarpingLoss (loss)' in line and 'start_fraction=0.5' in line and '50%' in line
    assert 'from iteration 6 of 10' in line    # (5 + 1) / 10 = 0.6 > 0.5 first at iteration index 5
    hook.after_train(runner)
    assert runner.message_hub.get_info(PROGRESS_KEY) is None


def test_schedule_hook_unwraps_wrappers_and_rejects_start_fraction():
    import pytest
    import torch.nn as nn

    from visionx.engine.hooks.topology import TopologyLossScheduleHook
    from visionx.models.losses.topology import WarpingLoss

    class Wrapped(nn.Module):  # stands in for DDP: is_model_wrapper looks the class up in the wrapper registry
        def __init__(self, module):
            super().__init__()
            self.module = module

    from mmengine.registry import MODEL_WRAPPERS
    MODEL_WRAPPERS.register_module(name='_TestTopologyWrapper', module=Wrapped, force=True)
    try:
        inner = nn.Module()
        inner.head = nn.Module()
        inner.head.loss = WarpingLoss(start_fraction=0.25)
        assert TopologyLossScheduleHook.scheduled_losses(Wrapped(inner)) == [('head.loss', 'WarpingLoss', 0.25)]
    finally:
        MODEL_WRAPPERS._module_dict.pop('_TestTopologyWrapper')
    with pytest.raises(TypeError, match="loss's own argument"):
        TopologyLossScheduleHook(start_fraction=0.7)
    with pytest.raises(TypeError, match='total_iter'):
        TopologyLossScheduleHook(total_iter=5)
