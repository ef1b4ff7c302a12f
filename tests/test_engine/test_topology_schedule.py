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
