"""Resume with random transforms in the main process (num_workers=0) reproduces the uninterrupted run."""
from __future__ import annotations

import random
import shutil

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tests.conftest import REPO_ROOT
from tests.test_engine.tiny_topomortar import tiny_topomortar_cfg
from visionx.engine import VisionXRunner
from visionx.engine.hooks import RNGStateHook
from visionx.engine.loops import ResumableIterBasedTrainLoop

CFG = REPO_ROOT / 'configs/topomortar/cedice_dynunet-tiny_1xb4-300it_topomortar-demo-128x128.py'


def _cfg(demo_root, work_dir) -> Config:
    # TopoMortarAugment stays on: rotations, zooms, flips and noise drawn in the main process
    cfg = tiny_topomortar_cfg(CFG, demo_root, work_dir, 6, checkpoint_interval=3)
    cfg.train_cfg.update(max_iters=6, val_interval=3)   # validation right after the checkpoint at 3
    for key in ('test_cfg', 'test_dataloader', 'test_evaluator'):
        cfg[key] = None
    return cfg


def test_resume_with_main_process_augmentation_is_exact(demo_root, tmp_path):
    init_default_scope('visionx')
    full = VisionXRunner.from_cfg(_cfg(demo_root, tmp_path / 'full'))
    assert type(full.train_loop) is ResumableIterBasedTrainLoop
    full.train()
    (tmp_path / 'resumed').mkdir()
    shutil.copy(tmp_path / 'full' / 'iter_3.pth', tmp_path / 'resumed' / 'iter_3.pth')
    cfg = _cfg(demo_root, tmp_path / 'resumed')
    cfg.resume, cfg.load_from = True, str(tmp_path / 'resumed' / 'iter_3.pth')
    resumed = VisionXRunner.from_cfg(cfg)
    resumed.train()
    expected = torch.load(tmp_path / 'full' / 'iter_6.pth')['state_dict']
    for k, v in expected.items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    # and the run really changed the weights after the resume point
    mid = torch.load(tmp_path / 'full' / 'iter_3.pth')['state_dict']
    assert any(not torch.equal(v, expected[k]) for k, v in mid.items() if v.is_floating_point())


def test_validation_leaves_the_training_generators_untouched():
    hook = RNGStateHook()
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    hook.before_val(None)
    torch.rand(5), np.random.rand(5), random.random()          # what a validation may draw
    hook.after_val(None)
    got = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1]) and got[2] == expected[2]
