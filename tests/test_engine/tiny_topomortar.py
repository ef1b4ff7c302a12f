"""A tiny, fast version of a TopoMortar demo config for the engine tests (CPU, 64-px crops, 4-level net)."""
from __future__ import annotations

from pathlib import Path

from mmengine.config import Config


def tiny_topomortar_cfg(config: str | Path, demo_root: Path, work_dir: Path, iters: int,
                        checkpoint_interval: int = 10_000) -> Config:
    """``config`` on the demo walls under ``demo_root``: batch 2, no workers, 64-px crops, a 4-level
    DynUNet, poly over ``iters``, logs every iteration, checkpoints every ``checkpoint_interval``."""
    cfg = Config.fromfile(str(config))
    root = str(demo_root / 'topomortar')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = root
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False, batch_size=2)
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'RandomCrop':
            t['crop_size'] = (64, 64)
    cfg.model.network.update(num_levels=4, filters=[4, 8, 16, 16], deep_supr_num=2)
    cfg.param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=iters, by_epoch=False)]
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=checkpoint_interval)
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook', draw=False)
    cfg.work_dir = str(work_dir)
    return cfg
