"""End to end: the demo config (shrunk) trains through MMEngine's Runner, lowers the loss, validates
(IoU at 0.2) and tests (mesh metrics)."""
import numpy as np
import torch
from mmengine import Config
from mmengine.runner import Runner

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]

CFG = REPO_ROOT / 'configs/gridformer/gridformer_3plane32-c8_1xb4-400it_synshapes-512.py'


def test_runner_trains_and_evaluates(demo_root, tmp_path):
    cfg = Config.fromfile(CFG)
    cfg.work_dir = str(tmp_path)
    cfg.model.encoder.resolution = 16
    cfg.model.test_cfg.mesh = dict(method='sparse_mc', resolution=16, refine_iters=1)
    root = str(demo_root / 'gridformer')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = root
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.dataset.pipeline[0].num_points = 256
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=25, val_interval=25)
    cfg.param_scheduler = []
    cfg.optim_wrapper.optimizer.lr = 3e-3
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 25
    cfg.test_evaluator = dict(type='MeshReconstructionMetric', n_points=2000)
    runner = Runner.from_cfg(cfg)
    runner.train()
    losses = np.asarray(runner.message_hub.get_scalar('train/loss_occ').data[0])
    assert len(losses) == 25
    assert losses[-8:].mean() < 0.8 * losses[:5].mean()
    assert 'occ/iou' in runner.message_hub.log_scalars or any(
        k.startswith('val/occ/iou') for k in runner.message_hub.log_scalars)
    metrics = runner.test()
    assert 0 <= metrics['mesh/iou'] <= 1 and metrics['mesh/chamfer_l1'] > 0
    assert torch.isfinite(torch.tensor(metrics['mesh/fscore@0.01']))
