"""One short training run of the BASNet demo config through mmengine's Runner: the loss must go down."""
from pathlib import Path

import numpy as np
from mmengine.config import Config
from mmengine.runner import Runner

REPO = Path(__file__).resolve().parents[3]


def test_demo_config_trains_and_lowers_loss(demo_root, tmp_path):
    cfg = Config.fromfile(REPO / 'configs/basnet/basnet_r34_1xb4-200it_synth-duts-48.py')
    cfg.work_dir = str(tmp_path)
    root = str(demo_root / 'basnet')
    cfg.train_dataloader.dataset.data_root = root
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.dataset.pipeline[2].scale = (40, 40)
    cfg.train_dataloader.dataset.pipeline[3].crop_size = (32, 32)
    cfg.model.data_preprocessor.size = (32, 32)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=10, val_interval=1000)
    for key in ('val_dataloader', 'val_evaluator', 'val_cfg', 'test_dataloader', 'test_evaluator', 'test_cfg'):
        cfg.pop(key, None)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1000, save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook', draw=False)
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    runner.train()
    losses = np.asarray(runner.message_hub.get_scalar('train/loss_basnet').data[0])
    assert len(losses) == 10 and np.isfinite(losses).all()
    assert losses[-3:].mean() < 0.93 * losses[:3].mean()  # measured: ~0.87 after 10 iterations
    # eight outputs x (BCE + 1 - SSIM + IoU): the first loss is large and positive
    assert losses[0] > 8
