"""The ciss_step benchmark case: step-1 rows for MiB, BARM and BACS with the frozen previous model."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from visionx.benchmarks import load_cases
from visionx.utils.errors import ConfigError

MIB = 'configs/ciss/mib_deeplabv3-tiny_1xb8-300it_demo-voc-3-2-2-overlap.py'
BARM = 'configs/ciss/barm_deeplabv3-tiny_1xb8-300it_demo-voc-3-2-2-overlap.py'
BACS = 'configs/ciss/bacs_deeplabv3-tiny_1xb8-300it_demo-voc-3-2-2-overlap.py'


def _run(configs: str, **options):
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        args = SimpleNamespace(cfg_options=dict(configs=configs, **options), batch_size=2, device='cpu', iters=1,
                               warmup=0)
        return load_cases()['ciss_step'](args)
    finally:
        torch.set_num_threads(n)


def _hook(path: str) -> dict:
    (hook, ) = [h for h in Config.fromfile(path).custom_hooks if h['type'] == 'BACSReplayHook']
    return hook


def test_ciss_step_rows():
    from visionx.registry import MODELS
    rows = _run(f'{MIB},{BARM},{BACS}')
    assert [r.case.split('_')[0] for r in rows] == ['mib', 'mib', 'barm', 'barm', 'bacs', 'bacs', 'bacs']
    assert [r.case.split('/')[-1] for r in rows[4:]] == [rows[4].case, 'prev_forward', 'buffer_fill']
    assert [r.case.endswith('/prev_forward') for r in rows[:4]] == [False, True, False, True]
    init_default_scope('visionx')
    for row, path in ((rows[0], MIB), (rows[2], BARM), (rows[4], BACS)):
        # the frozen previous model is the step-0 network: the demo task has 4 classes at step 0
        step0 = MODELS.build(Config.fromfile(path).model)
        assert row.extra['frozen_params'] == sum(p.numel() for p in step0.parameters())
        assert row.extra['step'] == 1 and row.extra['batch'] == 2 and row.latencies_s[0] > 0
    # at step 1 the current model has the step-0 parameters plus the new classifier (and, for BARM, the new ear)
    assert rows[0].extra['trainable_params'] == rows[0].extra['frozen_params'] + 32 * 2 + 2
    assert rows[2].extra['trainable_params'] == rows[2].extra['frozen_params'] + (32 * 32 * 9 + 2 * 32) + 32 * 3 + 3
    # BACS step 1 adds the classifier conv (32 -> 2) and one detector head (1x1 conv 128 // 4 -> 1), and freezes
    # the detector projector (3x3 conv 128 -> 32 without bias, BN weight and bias) and the step-0 head
    new = (32 * 2 + 2) + (128 // 4 + 1)
    frozen_now = (128 * 32 * 9 + 2 * 32) + (128 // 4 + 1)
    assert rows[4].extra['trainable_params'] == rows[4].extra['frozen_params'] + new - frozen_now


def test_ciss_step_bacs_replay_and_fill():
    hook = _hook(BACS)
    train, prev, fill = _run(BACS)
    assert train.extra['replay_batch'] == hook['batch_size']
    assert train.extra['replay_capacity'] == fill.extra['replay_capacity'] == hook['capacity']
    # the replay terms ran inside the timed train_step
    assert {'loss_ce', 'loss_kd', 'loss_det', 'loss_der', 'loss_derpp'} <= set(train.extra['losses'])
    assert prev.unit == fill.unit == 'images' and fill.items_per_iter == 2
    assert fill.extra['crop'] == [48, 48] and fill.extra['batch'] == 2
    assert fill.extra['s_per_1000_images'] == pytest.approx(1000 * np.median(fill.latencies_s) / 2)
    assert fill.summary()['throughput'] == pytest.approx(2 / fill.latencies_s[0])


def test_ciss_step_replay_batch_option(monkeypatch):
    from visionx.datasets.ciss.replay import ReplayBuffer
    from visionx.engine.hooks.bacs_replay import ReplaySampler
    drawn, added = [], []
    next_batch, add = ReplaySampler.next_batch, ReplayBuffer.add

    def spy_next_batch(self, device):
        out = next_batch(self, device)
        drawn.append(tuple(out['inputs'].shape))
        return out

    def spy_add(self, images, labels, logits, num_classes, seen, task, **kwargs):
        added.append((self.capacity, self.logit_shape, tuple(images.shape), tuple(logits.shape), len(self)))
        return add(self, images, labels, logits, num_classes, seen, task, **kwargs)

    monkeypatch.setattr(ReplaySampler, 'next_batch', spy_next_batch)
    monkeypatch.setattr(ReplayBuffer, 'add', spy_add)
    train, _, _ = _run(BACS, replay_batch=3)
    assert train.extra['replay_batch'] == 3
    # one timed train_step, one replay draw of 3 normalised crops
    assert drawn == [(3, 3, 48, 48)]
    # demo task 4 + 2 + 2 classes; the tiny DeepLabV3 has output stride 8: 48 / 8 = 6.  The random samples carry
    # the 4 classes of step 0; the fill row (the last add) offers the 2 images of the train batch with the
    # step-1 model's 6 logit channels to the full buffer
    capacity = _hook(BACS)['capacity']
    assert {a[:2] for a in added} == {(capacity, (8, 6, 6))}
    assert sum(a[2][0] for a in added[:-1]) == capacity and all(a[3][1] == 4 for a in added[:-1])
    assert added[-1][2:] == ((2, 3, 48, 48), (2, 6, 6, 6), capacity)
    with pytest.raises(ConfigError, match='replay_batch'):
        _run(BACS, replay_batch=0)
