"""torchrun --nproc_per_node=2 on CPU (gloo): both ranks end with identical weights."""
import json
import os
import socket
import subprocess

import torch

from tests.conftest import REPO_ROOT
from .conftest import TINY_CFG


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_process_cpu_training_keeps_replicas_identical(tmp_path, tiny_data):
    work_dir = tmp_path / 'ddp'
    env = {**os.environ, 'PYTHON': __import__('sys').executable, 'MASTER_PORT': str(_free_port()),
           'OMP_NUM_THREADS': '1'}
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', str(TINY_CFG), '2', '--work-dir', str(work_dir),
         '--cfg-options', f'train_dataloader.dataset.data_root={tiny_data}'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (record,) = json.loads((work_dir / 'param_sync.json').read_text())
    assert record['world_size'] == 2 and record['iter'] == 8
    assert len(record['digests']) == 2 and record['digests'][0] == record['digests'][1]
    start = torch.load(work_dir / 'iter_4.pth')['state_dict']
    end = torch.load(work_dir / 'iter_8.pth')['state_dict']
    assert any(not torch.equal(start[k], end[k]) for k in end)


def test_param_sync_hook_detects_divergence(monkeypatch):
    import pytest

    from visionx.engine.hooks import param_sync
    from visionx.engine.hooks.param_sync import ParamSyncCheckHook

    monkeypatch.setattr(param_sync, 'all_gather_object', lambda obj: [obj, 'different'])

    class _Runner:
        model = torch.nn.Linear(2, 2)
        iter = 3
        work_dir = '/nonexistent'
        logger = None

    hook = ParamSyncCheckHook(out_file=None)
    with pytest.raises(RuntimeError, match='diverged at iteration 3'):
        hook.after_train(_Runner())


def test_state_dict_digest_covers_zero_dim_buffers():
    """BatchNorm's num_batches_tracked is a 0-d long tensor: it is digested, and a change in it shows."""
    from visionx.engine.hooks.param_sync import state_dict_digest
    bn = torch.nn.BatchNorm2d(2)
    before = state_dict_digest(bn)
    bn.num_batches_tracked += 1
    assert state_dict_digest(bn) != before


def test_wrap_model_follows_the_device_not_where_the_model_was_built(monkeypatch, tmp_path):
    """MMEngine builds the model on the CPU and moves it in ``wrap_model``: on a CUDA device the runner must take
    MMEngine's path (GPU, SyncBN, device ids), and only a CPU run gets DDP without device ids."""
    import torch.distributed as dist
    from mmengine.config import Config
    from mmengine.runner import Runner

    from visionx.engine.runner import VisionXRunner
    runner = object.__new__(VisionXRunner)
    runner._distributed = True
    runner.cfg = Config(dict())
    called = []
    monkeypatch.setattr(Runner, 'wrap_model', lambda self, cfg, model: called.append(model) or 'mmengine')
    model = torch.nn.Linear(2, 2)  # built on the CPU, as MMEngine builds every model
    monkeypatch.setattr('mmengine.device.get_device', lambda: 'cuda')
    assert runner.wrap_model(None, model) == 'mmengine' and called == [model]
    monkeypatch.setattr('mmengine.device.get_device', lambda: 'cpu')
    dist.init_process_group('gloo', init_method=f'file://{tmp_path / "pg"}', rank=0, world_size=1)
    try:
        wrapped = runner.wrap_model(None, model)
    finally:
        dist.destroy_process_group()
    assert called == [model] and wrapped.device_ids is None and wrapped.module is model


def test_every_ranks_rng_state_reaches_the_checkpoint_and_only_a_resume_restores_it(monkeypatch):
    """MMEngine saves on rank 0 only: RankStates gathers each rank's state at the iteration of the save and
    rank 0 writes them all; each rank reads its own back on resume; a load_from start keeps its own seed."""
    from types import SimpleNamespace

    from visionx.engine.hooks import rank_states
    from visionx.engine.hooks.rng_state import RNGStateHook
    monkeypatch.setattr(rank_states, 'get_world_size', lambda: 2)
    monkeypatch.setattr(rank_states, 'all_gather_object', lambda state: [state, dict(rank=1)])
    hook = RNGStateHook()
    runner = SimpleNamespace(iter=7, _resume=True)
    hook.after_train_iter(runner, 0)
    ckpt = {}
    hook.before_save_checkpoint(runner, ckpt)
    assert set(ckpt['meta']) == {'rng_state_rank0', 'rng_state_rank1'}
    assert ckpt['meta']['rng_state_rank1'] == dict(rank=1)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(0)
    saved = dict(meta=dict(rng_state_rank0=dict(RNGStateHook.capture(), torch=torch.manual_seed(123).get_state())))
    torch.manual_seed(0)
    hook.after_load_checkpoint(SimpleNamespace(_resume=False), saved)  # load_from: nothing pending
    assert not hook.apply_pending()
    hook.after_load_checkpoint(SimpleNamespace(_resume=True), saved)  # resume: this rank's state
    assert hook.apply_pending() and torch.equal(torch.rand(3), expected)
    monkeypatch.setattr(rank_states, 'get_rank', lambda: 1)  # a rank the checkpoint lacks: warned, skipped
    hook.after_load_checkpoint(SimpleNamespace(_resume=True), saved)
    assert not hook.apply_pending()
    # a save at another iteration than the last gather falls back to rank 0's own state
    monkeypatch.setattr(rank_states, 'get_rank', lambda: 0)
    ckpt = {}
    hook.before_save_checkpoint(SimpleNamespace(iter=8, _resume=True), ckpt)
    assert set(ckpt['meta']) == {'rng_state_rank0'}
