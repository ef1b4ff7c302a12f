"""SelfDistillationLoop end to end on the tiny TopoMortar demo: 2 rounds x 4 iterations.

Checks the round boundary (soft labels = softmax of the end-of-round-1 model on the un-augmented training
images, parameter reset, fresh optimizer, restarted or official-constant lr), that round-2 losses get float
soft targets, resume in the middle of round 2 and at the boundary, and sharded soft-label writes under DDP.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope

from tests.conftest import REPO_ROOT
from tests.test_engine.tiny_topomortar import tiny_topomortar_cfg
from visionx.engine import VisionXRunner
from visionx.models.losses.topology import CEDiceLoss
from visionx.registry import MODELS

SD_CFG = REPO_ROOT / 'configs/topomortar/cldice_dynunet-tiny_1xb4-3x100it_topomortar-selfdistill-demo-128x128.py'
IPR = 4            # iterations per round in these tests
SEED = 42          # randomness.seed of the demo configs
TARGETS: list[tuple[int, torch.dtype, tuple, bool]] = []   # (iter, dtype, shape, has fractional values)


@MODELS.register_module(force=True)
class _TargetRecordingLoss(CEDiceLoss):
    """CE + Dice that records the target it receives (dtype, shape) and the iteration."""

    def forward(self, pred, target, *args, **kwargs):
        from mmengine.logging import MessageHub
        it = MessageHub.get_current_instance().get_info('iter')
        frac = bool(target.is_floating_point() and ((target > 0) & (target < 1)).any())
        TARGETS.append((it, target.dtype, tuple(target.shape), frac))
        return super().forward(pred, target, *args, **kwargs)


class _Probe(Hook):
    """Records lr, optimizer identity/state, round info and topology-schedule progress before each iteration;
    snapshots the weights at the end of round 1 and at the start of round 2."""

    priority = 'LOW'

    def __init__(self):
        self.rows, self.snapshots = [], {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        from visionx.utils.progress import PROGRESS_KEY
        opt = runner.optim_wrapper.optimizer
        hub = runner.message_hub
        self.rows.append(dict(iter=runner.iter, lr=opt.param_groups[0]['lr'], opt_id=id(opt),
                              opt_state=len(opt.state), round=hub.get_info('self_distillation/round'),
                              progress=hub.get_info(PROGRESS_KEY)))
        if runner.iter == IPR:
            self.snapshots['round2_start'] = _weights(runner.model)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == IPR:
            self.snapshots['round1_end'] = _weights(runner.model)


def _weights(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _cfg(demo_root, work_dir, rounds=2, official=False, prob_scale=1.0):
    cfg = tiny_topomortar_cfg(SD_CFG, demo_root, work_dir, IPR, checkpoint_interval=2)
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'TopoMortarAugment':
            # on (TopoMortar's probabilities): resume must reproduce the augmentations too
            t['prob_scale'] = prob_scale
    cfg.model.loss = dict(type='_TargetRecordingLoss')
    cfg.train_cfg.update(rounds=rounds, iters_per_round=IPR, val_interval=IPR, official_scheduler=official)
    return cfg


def _train(cfg, resume_from=None):
    if resume_from is not None:
        cfg.resume, cfg.load_from = True, str(resume_from)
    TARGETS.clear()
    runner = VisionXRunner.from_cfg(cfg)
    probe = _Probe()
    runner.register_hook(probe)
    runner.train()
    return runner, probe, list(TARGETS)


@pytest.fixture(scope='module')
def sd_run(demo_root, tmp_path_factory):
    """An uninterrupted 2 x 4-iteration run (checkpoints every 2 iterations)."""
    init_default_scope('visionx')
    work_dir = tmp_path_factory.mktemp('selfdistill')
    runner, probe, targets = _train(_cfg(demo_root, work_dir))
    return dict(work_dir=work_dir, runner=runner, probe=probe, targets=targets, demo_root=demo_root)


def _poly(n):
    """mmengine's PolyLR over one round (``total_iters = end - begin - 1``: 0 at the round's last iteration)."""
    return [0.01 * (1 - i / (n - 1)) ** 0.9 for i in range(n)]


def test_lr_restarts_and_optimizer_is_fresh(sd_run):
    rows = sd_run['probe'].rows
    assert [r['iter'] for r in rows] == list(range(2 * IPR))
    np.testing.assert_allclose([r['lr'] for r in rows], _poly(IPR) * 2, rtol=1e-6, atol=1e-12)
    assert rows[IPR]['lr'] == pytest.approx(0.01)
    # a new optimizer object with no momentum buffers at the first round-2 iteration
    assert rows[IPR]['opt_id'] != rows[IPR - 1]['opt_id']
    assert rows[IPR]['opt_state'] == 0 and rows[IPR - 1]['opt_state'] > 0 and rows[IPR + 1]['opt_state'] > 0
    assert [r['round'] for r in rows] == [1] * IPR + [2] * IPR
    # TopologyLossScheduleHook measures progress within the round
    assert [r['progress'] for r in rows] == pytest.approx([(i + 1) / IPR for i in range(IPR)] * 2)


def test_parameters_are_reset_at_the_round_boundary(sd_run):
    end1, start2 = sd_run['probe'].snapshots['round1_end'], sd_run['probe'].snapshots['round2_start']
    convs = [k for k, v in start2.items() if k.endswith('weight') and v.dim() == 4]
    assert len(convs) > 5
    for k in convs:
        assert not torch.equal(end1[k], start2[k]), k
        # reset_parameters = PyTorch's default Kaiming-uniform(a=sqrt(5)) init: |w| <= 1/sqrt(fan_in)
        # (MONAI's construction-time Kaiming-normal init and trained weights exceed that bound)
        w = start2[k]
        bound = 1 / math.sqrt(_fan_in(w))
        assert w.abs().max() <= bound + 1e-6, k
        if w.numel() >= 500:
            assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.15), k
    assert all(end1[k].abs().max() > 1 / math.sqrt(_fan_in(end1[k])) for k in convs)
    # the reset is seeded (seed + round): a fresh model reset the same way matches exactly
    cfg = sd_run['runner'].cfg
    fresh = MODELS.build(cfg.model)
    with torch.random.fork_rng():
        torch.manual_seed(SEED + 2)
        for m in fresh.modules():
            if callable(getattr(m, 'reset_parameters', None)):
                m.reset_parameters()
    for k, v in fresh.state_dict().items():
        assert torch.equal(v, start2[k]), k


def _fan_in(w: torch.Tensor) -> int:
    return torch.nn.init._calculate_fan_in_and_fan_out(w)[0]


def _predict_softmax(model, img_path) -> np.ndarray:
    """Independent of the loop: read, z-score, forward the whole image, softmax."""
    img = cv2.imread(str(img_path)).astype(np.float32)
    img = (img - img.mean((0, 1))) / img.std((0, 1))
    x = torch.from_numpy(img.transpose(2, 0, 1))[None]
    model.eval()
    with torch.no_grad():
        return torch.softmax(model.encode_decode(x, []), 1)[0].numpy()


def test_soft_labels_are_the_round1_softmax_of_the_training_images(sd_run):
    work_dir, root = sd_run['work_dir'], sd_run['demo_root'] / 'topomortar'
    out = work_dir / 'soft_labels' / 'round_2'
    images = sorted((root / 'train' / 'images').glob('*.png'))
    assert images and sorted(p.name for p in out.glob('*.npy')) == [p.stem + '.npy' for p in images]
    assert not list((work_dir / 'soft_labels').glob('round_3'))  # no prediction after the last round
    manifest = json.loads((out / 'manifest.json').read_text())
    assert manifest['round'] == 2 and manifest['iteration'] == IPR and manifest['num_files'] == len(images)
    model = MODELS.build(sd_run['runner'].cfg.model)
    state = torch.load(work_dir / f'iter_{IPR}.pth')['state_dict']
    model.load_state_dict(state)
    for p in images:
        soft = np.load(out / f'{p.stem}.npy')
        h, w = cv2.imread(str(p)).shape[:2]
        assert soft.shape == (2, h, w) and soft.dtype == np.float32
        np.testing.assert_allclose(soft.sum(0), 1, atol=1e-5)
        np.testing.assert_allclose(soft, _predict_softmax(model, p), atol=1e-5)
        assert ((soft > 0.01) & (soft < 0.99)).any()  # genuinely soft


def test_round2_losses_receive_float_soft_targets(sd_run):
    targets = sd_run['targets']
    round1 = [t for t in targets if t[0] < IPR]
    round2 = [t for t in targets if t[0] >= IPR]
    assert round1 and round2
    assert all(dtype == torch.int64 and shape == (2, 64, 64) for _, dtype, shape, _ in round1)
    assert all(dtype == torch.float32 and shape == (2, 2, 64, 64) for _, dtype, shape, _ in round2)
    assert all(frac for *_, frac in round2)


def test_validation_keeps_hard_labels(sd_run):
    from visionx.registry import DATASETS
    val = DATASETS.build(sd_run['runner'].cfg.val_dataloader.dataset)
    sample = val[0]['data_samples']
    assert 'gt_soft_seg' not in sample and sample.gt_sem_seg.data.dtype == torch.int64
    assert sd_run['runner'].val_loop.dataloader.dataset.label_type == 'accurate'


def _copy_run(src, dst, keep_until):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns('2*', 'vis_data', 'last_checkpoint'))
    for ckpt in dst.glob('iter_*.pth'):
        if int(ckpt.stem.split('_')[1]) > keep_until:
            ckpt.unlink()
    return dst


def test_resume_in_the_middle_of_round_two(sd_run, tmp_path):
    work_dir = _copy_run(sd_run['work_dir'], tmp_path / 'resumed', keep_until=IPR + 2)
    soft_dir = work_dir / 'soft_labels' / 'round_2'
    mtimes = {p.name: p.stat().st_mtime_ns for p in soft_dir.iterdir()}
    runner, probe, targets = _train(_cfg(sd_run['demo_root'], work_dir), resume_from=work_dir / 'iter_6.pth')
    assert [r['iter'] for r in probe.rows] == [IPR + 2, IPR + 3]
    assert [r['round'] for r in probe.rows] == [2, 2]
    np.testing.assert_allclose([r['lr'] for r in probe.rows], _poly(IPR)[2:], rtol=1e-6)
    assert all(t[1] == torch.float32 for t in targets)           # still on the round-2 soft labels
    assert {p.name: p.stat().st_mtime_ns for p in soft_dir.iterdir()} == mtimes   # not predicted again
    expected = torch.load(sd_run['work_dir'] / f'iter_{2 * IPR}.pth')['state_dict']
    resumed = runner.model.state_dict()
    for k, v in expected.items():
        assert torch.equal(v, resumed[k]), k


def test_resume_at_the_round_boundary_predicts_again(sd_run, tmp_path):
    work_dir = _copy_run(sd_run['work_dir'], tmp_path / 'boundary', keep_until=IPR)
    shutil.rmtree(work_dir / 'soft_labels')
    runner, probe, _ = _train(_cfg(sd_run['demo_root'], work_dir), resume_from=work_dir / f'iter_{IPR}.pth')
    assert [r['iter'] for r in probe.rows] == list(range(IPR, 2 * IPR))
    for p in (sd_run['work_dir'] / 'soft_labels' / 'round_2').glob('*.npy'):
        np.testing.assert_array_equal(np.load(p), np.load(work_dir / 'soft_labels' / 'round_2' / p.name))
    expected = torch.load(sd_run['work_dir'] / f'iter_{2 * IPR}.pth')['state_dict']
    for k, v in expected.items():
        assert torch.equal(v, runner.model.state_dict()[k]), k


def test_official_flags_constant_lr_and_round_one_labels(demo_root, tmp_path):
    init_default_scope('visionx')
    cfg = _cfg(demo_root, tmp_path, rounds=3, official=True)
    cfg.train_cfg.official_round_labels = True
    runner, probe, _ = _train(cfg)
    lrs = [r['lr'] for r in probe.rows]
    np.testing.assert_allclose(lrs[:IPR], _poly(IPR), rtol=1e-6)
    assert lrs[IPR:] == [0.01] * (2 * IPR)
    assert probe.rows[IPR]['opt_state'] == 0
    # round 3 still trains on the round-1 predictions (round_2); round_3 is written but unused
    soft = [t for t in runner.train_loop.dataloader.dataset.pipeline.transforms
            if type(t).__name__ == 'LoadSoftLabels'][0]
    assert str(soft.soft_label_dir).endswith('round_2')
    assert any((tmp_path / 'soft_labels' / 'round_3').glob('*.npy'))


def test_bad_configs(demo_root, tmp_path):
    init_default_scope('visionx')
    cfg = _cfg(demo_root, tmp_path)
    cfg.train_dataloader.dataset.pipeline = [t for t in cfg.train_dataloader.dataset.pipeline
                                             if t['type'] != 'LoadSoftLabels']
    with pytest.raises(ValueError, match='LoadSoftLabels'):
        VisionXRunner.from_cfg(cfg).train()
    cfg = _cfg(demo_root, tmp_path)
    cfg.train_cfg.max_iters = 100
    with pytest.raises(ValueError, match='max_iters'):
        VisionXRunner.from_cfg(cfg).train()
    cfg = _cfg(demo_root, tmp_path)
    cfg.model.network.out_channels = 1
    with pytest.raises(ValueError, match='output channels'):
        VisionXRunner.from_cfg(cfg).train()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_ddp_ranks_write_disjoint_shards(demo_root, tmp_path):
    """torchrun --nproc_per_node=2 on CPU: each soft label is written by exactly one rank, both ranks write,
    and the replicas stay identical through the reset."""
    cfg_path = tmp_path / 'sd_ddp.py'
    cfg_path.write_text(f"""_base_ = [{str(SD_CFG)!r}]
model = dict(network=dict(num_levels=4, filters=[4, 8, 16, 16], deep_supr_num=2))
train_dataloader = dict(batch_size=1, num_workers=0, dataset=dict(data_root={str(demo_root / 'topomortar')!r}))
val_dataloader = dict(dataset=dict(data_root={str(demo_root / 'topomortar')!r}))
test_dataloader = dict(dataset=dict(data_root={str(demo_root / 'topomortar')!r}))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=2, by_epoch=False)]
train_cfg = dict(rounds=2, iters_per_round=2, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=100), visualization=dict(draw=False))
custom_hooks = [dict(type='TopologyLossScheduleHook'), dict(type='ParamSyncCheckHook', interval=1)]
""")
    work_dir = tmp_path / 'ddp'
    env = {**os.environ, 'PYTHON': sys.executable, 'MASTER_PORT': str(_free_port()), 'OMP_NUM_THREADS': '1'}
    proc = subprocess.run(['bash', 'tools/dist_train.sh', str(cfg_path), '2', '--work-dir', str(work_dir)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((work_dir / 'soft_labels' / 'round_2' / 'manifest.json').read_text())
    images = sorted((demo_root / 'topomortar' / 'train' / 'images').glob('*.png'))
    assert manifest['world_size'] == 2 and manifest['num_files'] == len(images)
    assert sorted(manifest['files']) == [p.stem + '.npy' for p in images]
    assert set(manifest['files'].values()) == {0, 1}       # one file, one writer; both ranks wrote
    records = json.loads((work_dir / 'param_sync.json').read_text())
    assert len(records) == 5 and all(r['in_sync'] for r in records)   # 4 iterations + end of training
