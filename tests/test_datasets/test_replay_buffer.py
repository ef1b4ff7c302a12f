"""BACS replay buffer: hand-computed scores, reservoir rule, sampling, atomic save and checked load."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from visionx.datasets.ciss import replay
from visionx.datasets.ciss.replay import ReplayBuffer, class_balance, label_presence, replay_scores
from visionx.utils.errors import ConfigError, DataFormatError, UserFileNotFoundError
from visionx.utils.io import _host_tag

IMAGE_SHAPE = (3, 4, 5)
LOGIT_SHAPE = (4, 2, 2)
NAMES = ('images', 'labels', 'logits', 'num_classes', 'importance', 'seen', 'task')


def label_map(values, shape=IMAGE_SHAPE[1:]) -> np.ndarray:
    """A (H, W) uint8 map containing exactly the given values (the first one fills the rest)."""
    lab = np.full(shape, values[0], dtype=np.uint8)
    lab.flat[:len(values)] = values
    return lab


def batch(label_sets, importance, task=0, seed=0, n_logit_channels=3):
    """Keyword arguments of ReplayBuffer.add for samples with the given label sets, random other content."""
    rng = np.random.default_rng(seed)
    b = len(label_sets)
    return dict(
        images=rng.integers(0, 256, (b, *IMAGE_SHAPE), dtype=np.uint8),
        labels=np.stack([label_map(v) for v in label_sets]),
        logits=rng.standard_normal((b, n_logit_channels, *LOGIT_SHAPE[1:])).astype(np.float32),
        num_classes=n_logit_channels,
        seen=rng.random((b, *IMAGE_SHAPE[1:])).astype(np.float32),
        task=task,
        importance=np.asarray(importance, dtype=np.float32),
    )


def filled_buffer(capacity=3, offers=6, seed=0) -> ReplayBuffer:
    buf = ReplayBuffer(capacity, IMAGE_SHAPE, LOGIT_SHAPE)
    gen = np.random.default_rng(seed)
    sets = [[0, 1], [0, 2, 255], [1, 3], [0, 3], [2], [0, 1, 2]]
    for k in range(offers):
        buf.add(**batch([sets[k % len(sets)]], [-0.25 * (k + 1)], task=k // 2, seed=100 + k), generator=gen)
    return buf


def assert_same_buffer(a: ReplayBuffer, b: ReplayBuffer) -> None:
    assert (a.capacity, a.image_shape, a.logit_shape) == (b.capacity, b.image_shape, b.logit_shape)
    assert (len(a), a.num_seen) == (len(b), b.num_seen)
    for name in NAMES:
        x, y = a.arrays[name], b.arrays[name]
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), name


# ----------------------------------------------------------------------------------------------------------
# Scores
# ----------------------------------------------------------------------------------------------------------
def test_label_presence_and_class_balance():
    labels = np.stack([label_map([0, 1]), label_map([1, 2]), label_map([2, 3, 255]), label_map([0])])
    presence = label_presence(labels)
    assert presence.shape == (4, 256)
    assert [np.flatnonzero(p).tolist() for p in presence] == [[0, 1], [1, 2], [2, 3, 255], [0]]
    # n_1 = 2, n_2 = 2, n_3 = 1, n_255 = 1 (255 counts as a class); background-only sample -> N = 4
    assert class_balance(presence).tolist() == [2, 2, 1, 4]


def test_replay_scores_hand_computed():
    presence = label_presence(np.stack([label_map([0, 1]), label_map([1, 2]), label_map([2, 3, 255])]))
    # B = [2, 2, 1]; mean|I| = 1, mean|B| = 5/3; S = 0.3 * I * 3/5 + 0.7 * B = [1.31, 1.22, 0.43]
    # min-max: [1, 79/88, 0] -> p = [88/167, 79/167, 0]
    p = replay_scores(presence, [-0.5, -1.0, -1.5])
    np.testing.assert_allclose(p, [88 / 167, 79 / 167, 0.0], rtol=1e-12, atol=1e-15)
    assert Fraction(88, 167) + Fraction(79, 167) == 1


def test_replay_scores_degenerate_cases():
    same = label_presence(np.stack([label_map([0, 1])] * 3))
    np.testing.assert_allclose(replay_scores(same, [-1.0, -1.0, -1.0]), [1 / 3] * 3)  # constant S: uniform
    two = label_presence(np.stack([label_map([0, 1]), label_map([0, 1, 2])]))  # B = [2, 1]
    # importance all 0: the importance term is dropped, S = 0.7 * B -> min-max [1, 0]
    np.testing.assert_allclose(replay_scores(two, [0.0, 0.0]), [1.0, 0.0])
    with pytest.raises(ValueError, match='importance must have shape'):
        replay_scores(two, [0.0])
    with pytest.raises(ValueError, match='finite'):
        replay_scores(two, [0.0, -np.inf])


# ----------------------------------------------------------------------------------------------------------
# Reservoir
# ----------------------------------------------------------------------------------------------------------
def test_fill_order_free_slots_first():
    buf = ReplayBuffer(4, IMAGE_SHAPE, LOGIT_SHAPE)
    gen = np.random.default_rng(0)
    b1 = batch([[0, 1], [0, 2], [3]], [-1, -2, -3], task=0, seed=1)
    assert buf.add(**b1, generator=gen).tolist() == [0, 1, 2]
    assert (len(buf), buf.num_seen) == (3, 3)
    # nothing drawn while slots are free
    assert gen.bit_generator.state == np.random.default_rng(0).bit_generator.state
    a = buf.arrays
    assert a['images'][:3].tobytes() == b1['images'].tobytes()
    assert a['labels'][:3].tobytes() == b1['labels'].tobytes()
    assert (a['logits'][:3, :3] == b1['logits']).all() and (a['logits'][:3, 3] == 0).all()  # padded to C_max
    assert a['num_classes'][:3].tolist() == [3, 3, 3] and a['task'][:3].tolist() == [0, 0, 0]
    assert a['importance'][:3].tolist() == [-1, -2, -3]
    assert (a['seen'][:3] == b1['seen'].astype(np.float16)).all()
    slots = buf.add(**batch([[0, 1], [0, 2]], [-1, -1], task=1, seed=2), generator=gen)
    assert slots[0] == 3  # the last free slot, then the reservoir (N = 4 = m: always kept)
    assert 0 <= slots[1] < 4 and (len(buf), buf.num_seen) == (4, 5)


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_reservoir_capacity_two_hand_case(seed):
    buf = ReplayBuffer(2, IMAGE_SHAPE, LOGIT_SHAPE)
    gen = np.random.default_rng(seed)
    buf.add(**batch([[0, 1], [0, 1, 2]], [-1.0, -1.0]), generator=gen)
    # B = [2, 1], I = [-1, -1]: S = 0.3 * (-1 / 1.5) + 0.7 * B = [1.2, 0.5] -> p = [1, 0];
    # N = 2 = m so r ~ U{0, 1} < 2: the third sample always replaces slot 0.
    np.testing.assert_allclose(buf.scores(), [1.0, 0.0])
    new = batch([[0, 3]], [-5.0], task=1, seed=9)
    assert buf.add(**new, generator=gen).tolist() == [0]
    assert buf.arrays['images'][0].tobytes() == new['images'][0].tobytes()
    assert buf.arrays['task'].tolist() == [1, 0] and buf.num_seen == 3


def reference_fill(capacity, offers, seed):
    """Independent re-statement of the official rule (dict counters as in ``Buffer.add_data``)."""
    rng = np.random.default_rng(seed)
    stored_sets, stored_imp, stored_id, counts = [None] * capacity, [0.0] * capacity, [None] * capacity, {}
    for n_seen, (label_set, imp) in enumerate(offers):
        if n_seen < capacity:
            slot = n_seen
        elif rng.integers(0, n_seen) < capacity:
            balance = []
            for s in stored_sets:
                fg = [c for c in s if c != 0]
                balance.append(min(counts[c] for c in fg) if fg else capacity)
            scale = np.mean(np.abs(stored_imp)) * np.mean(np.abs(balance))
            pre = [0.3 * i / scale + 0.7 * b for i, b in zip(stored_imp, balance)]
            lo, hi = min(pre), max(pre)
            pre = [(x - lo) / (hi - lo) for x in pre]
            slot = int(rng.choice(capacity, p=np.array(pre) / sum(pre)))
        else:
            continue
        if stored_sets[slot] is not None:
            for c in stored_sets[slot]:
                counts[c] -= 1
        for c in label_set:
            counts[c] = counts.get(c, 0) + 1
        stored_sets[slot], stored_imp[slot], stored_id[slot] = set(label_set), float(np.float32(imp)), n_seen
    return stored_id


def test_reservoir_follows_official_rule_and_seed():
    sets = [[0, 1], [0, 2, 255], [1, 3], [0, 3], [2], [0, 1, 2], [0, 4], [4, 5], [0, 5], [1]]
    offers = [(s, -0.1 * (k + 1) - 0.05 * (k % 3)) for k, s in enumerate(sets * 3)]
    for seed in (0, 7):
        buf = ReplayBuffer(4, IMAGE_SHAPE, LOGIT_SHAPE)
        gen = np.random.default_rng(seed)
        for start in range(0, len(offers), 3):  # batches of 3, offered one sample after the other
            chunk = offers[start:start + 3]
            buf.add(**batch([s for s, _ in chunk], [i for _, i in chunk], task=range(start, start + len(chunk))),
                    generator=gen)
        expected_ids = reference_fill(4, offers, seed)
        assert buf.arrays['task'].tolist() == expected_ids  # task = offer number here
        assert buf.num_seen == len(offers) and len(buf) == 4
        twin = ReplayBuffer(4, IMAGE_SHAPE, LOGIT_SHAPE)
        gen = np.random.default_rng(seed)
        for start in range(0, len(offers), 3):
            chunk = offers[start:start + 3]
            twin.add(**batch([s for s, _ in chunk], [i for _, i in chunk], task=range(start, start + len(chunk))),
                     generator=gen)
        assert_same_buffer(buf, twin)


def test_add_input_checks():
    buf = ReplayBuffer(2, IMAGE_SHAPE, LOGIT_SHAPE)
    gen = np.random.default_rng(0)
    good = batch([[0, 1]], [-1.0])
    with pytest.raises(TypeError, match='numpy.random.Generator'):
        buf.add(**good, generator=torch.Generator())
    with pytest.raises(ValueError, match='uint8'):
        buf.add(**{**good, 'images': good['images'].astype(np.float32)}, generator=gen)
    with pytest.raises(ValueError, match='logits must be'):
        buf.add(**{**good, 'logits': np.zeros((1, 5, 2, 2), np.float32)}, generator=gen)
    with pytest.raises(ValueError, match=r'labels must lie in \[0, 255\]'):
        buf.add(**{**good, 'labels': good['labels'].astype(np.int64) + 300}, generator=gen)
    assert buf.num_seen == 0
    torch_batch = {k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in good.items()}
    torch_batch['seen'] = torch_batch['seen'][:, None]  # (B, 1, H, W) accepted
    assert buf.add(**torch_batch, generator=gen).tolist() == [0]


# ----------------------------------------------------------------------------------------------------------
# Sampling
# ----------------------------------------------------------------------------------------------------------
def test_sample_is_reproducible_from_generator_state():
    buf = filled_buffer(capacity=3, offers=3)
    g = torch.Generator().manual_seed(5)
    state = g.get_state()
    first = buf.sample(2, g)
    g.set_state(state)
    again = buf.sample(2, g)
    for key in first:
        assert torch.equal(first[key], again[key]), key
    idx = first['index'].tolist()
    assert len(set(idx)) == 2 and all(0 <= i < 3 for i in idx)  # distinct filled slots
    a = buf.arrays
    assert first['images'].dtype == torch.uint8 and first['images'].numpy().tobytes() == a['images'][idx].tobytes()
    assert first['labels'].dtype == torch.int64 and (first['labels'].numpy() == a['labels'][idx]).all()
    assert first['logits'].dtype == torch.float32 and first['logits'].shape == (2, *LOGIT_SHAPE)
    assert first['seen'].dtype == torch.float32 and (first['seen'].numpy() == a['seen'][idx].astype(np.float32)).all()
    assert first['num_classes'].dtype == torch.int64 and first['task'].dtype == torch.int64
    assert buf.sample(10, g)['index'].sort().values.tolist() == [0, 1, 2]  # n clipped to the filled count
    with pytest.raises(ValueError, match='empty'):
        ReplayBuffer(2, IMAGE_SHAPE, LOGIT_SHAPE).sample(1)


# ----------------------------------------------------------------------------------------------------------
# Persistence
# ----------------------------------------------------------------------------------------------------------
def test_save_load_round_trip_bit_exact(tmp_path):
    buf = filled_buffer(capacity=3, offers=6)
    buf.save(tmp_path / 'buf')
    meta = json.loads((tmp_path / 'buf' / 'meta.json').read_text())
    assert meta['format'] == replay.FORMAT_NAME and meta['version'] == 1
    assert (meta['capacity'], meta['count'], meta['num_seen']) == (3, 3, 6)
    assert meta['image_shape'] == list(IMAGE_SHAPE) and meta['logit_shape'] == list(LOGIT_SHAPE)
    assert meta['arrays']['seen']['dtype'] == '<f2' and meta['arrays']['logits']['shape'] == [3, *LOGIT_SHAPE]
    for mode in ('r', 'c', None):
        loaded = ReplayBuffer.load(tmp_path / 'buf', mmap_mode=mode)
        assert_same_buffer(buf, loaded)
        np.testing.assert_array_equal(loaded.scores(), buf.scores())  # presence rebuilt from stored labels
    loaded = ReplayBuffer.load(tmp_path / 'buf')
    assert isinstance(loaded.arrays['images'], np.memmap) and not loaded.writable
    loaded.save(tmp_path / 'again')
    assert (tmp_path / 'again' / 'meta.json').read_text() == (tmp_path / 'buf' / 'meta.json').read_text()
    for name in NAMES:
        assert (tmp_path / 'again' / f'{name}.npy').read_bytes() == (tmp_path / 'buf' / f'{name}.npy').read_bytes()
    assert np.load(tmp_path / 'buf' / 'images.npy').tobytes() == buf.arrays['images'].tobytes()  # plain .npy


def test_loaded_buffer_is_read_only_and_copy_continues(tmp_path):
    buf = filled_buffer(capacity=3, offers=3)
    buf.save(tmp_path / 'buf')
    before = (tmp_path / 'buf' / 'images.npy').read_bytes()
    loaded = ReplayBuffer.load(tmp_path / 'buf')
    more = batch([[0, 2]], [-0.5], task=4, seed=3)
    with pytest.raises(ValueError, match='read-only'):
        loaded.add(**more, generator=np.random.default_rng(0))
    writable = loaded.copy()
    writable.add(**more, generator=np.random.default_rng(0))
    buf.add(**more, generator=np.random.default_rng(0))
    assert_same_buffer(writable, buf)  # the counter and the scores carry over
    assert writable.num_seen == 4
    assert (tmp_path / 'buf' / 'images.npy').read_bytes() == before
    cow = ReplayBuffer.load(tmp_path / 'buf', mmap_mode='c')
    cow.add(**more, generator=np.random.default_rng(0))
    assert (tmp_path / 'buf' / 'images.npy').read_bytes() == before


def siblings(parent: Path, name='buf'):
    return sorted(p.name for p in parent.iterdir() if p.name != name)


def test_save_replaces_existing_buffer(tmp_path):
    old, new = filled_buffer(offers=3, seed=0), filled_buffer(offers=6, seed=1)
    old.save(tmp_path / 'buf')
    new.save(tmp_path / 'buf')
    assert_same_buffer(ReplayBuffer.load(tmp_path / 'buf'), new)
    assert siblings(tmp_path) == []


def test_crash_while_writing_keeps_old_buffer(tmp_path, monkeypatch):
    old, new = filled_buffer(offers=3, seed=0), filled_buffer(offers=6, seed=1)
    old.save(tmp_path / 'buf')
    real_write, calls = replay._write_array, []

    def failing_write(file, arr):
        calls.append(file.name)
        if len(calls) % 3 == 0:  # the third array of each save
            raise OSError('disk full (simulated)')
        return real_write(file, arr)

    monkeypatch.setattr(replay, '_write_array', failing_write)
    with pytest.raises(OSError, match='simulated'):
        new.save(tmp_path / 'buf')
    assert_same_buffer(ReplayBuffer.load(tmp_path / 'buf'), old)
    assert siblings(tmp_path) == []  # the partial temporary folder is gone
    with pytest.raises(OSError, match='simulated'):
        new.save(tmp_path / 'fresh')
    assert siblings(tmp_path) == []  # no partial folder at a new path either


def test_crash_on_rename_in_puts_old_buffer_back(tmp_path, monkeypatch):
    old, new = filled_buffer(offers=3, seed=0), filled_buffer(offers=6, seed=1)
    old.save(tmp_path / 'buf')
    real_move, calls = replay._move, []

    def failing_move(src, dst):
        calls.append((Path(src).name, Path(dst).name))
        if len(calls) == 2:  # 1: old aside, 2: new in
            raise KeyboardInterrupt
        real_move(src, dst)

    monkeypatch.setattr(replay, '_move', failing_move)
    with pytest.raises(KeyboardInterrupt):
        new.save(tmp_path / 'buf')
    assert calls[0][0] == 'buf' and '.vxold-' in calls[0][1] and '.vxtmp-' in calls[1][0]
    assert_same_buffer(ReplayBuffer.load(tmp_path / 'buf'), old)
    assert siblings(tmp_path) == []


def test_interrupted_swap_is_named_and_stale_folders_swept(tmp_path):
    buf = filled_buffer(offers=3)
    buf.save(tmp_path / 'buf')
    proc = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'], capture_output=True, text=True)
    dead_pid = int(proc.stdout)
    aside = tmp_path / f'.buf.vxold-{_host_tag()}-{dead_pid}-abc'
    os.rename(tmp_path / 'buf', aside)  # as if killed between the two renames
    with pytest.raises(UserFileNotFoundError, match=r'interrupted.*\.buf\.vxold-'):
        ReplayBuffer.load(tmp_path / 'buf')
    (tmp_path / f'.buf.vxtmp-{_host_tag()}-{dead_pid}-xyz').mkdir()
    buf.save(tmp_path / 'buf')
    assert siblings(tmp_path) == []


def test_save_refuses_to_replace_other_folders(tmp_path):
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'keep.txt').write_text('x')
    with pytest.raises(ConfigError, match='not a replay buffer'):
        filled_buffer(offers=1).save(tmp_path / 'data')
    (tmp_path / 'file').write_text('x')
    with pytest.raises(ConfigError, match='not a folder'):
        filled_buffer(offers=1).save(tmp_path / 'file')
    assert (tmp_path / 'data' / 'keep.txt').read_text() == 'x' and siblings(tmp_path, 'data') == ['file']


@pytest.fixture
def saved(tmp_path) -> Path:
    filled_buffer(capacity=3, offers=5).save(tmp_path / 'buf')
    return tmp_path / 'buf'


def edit_meta(saved: Path, edit) -> None:
    meta = json.loads((saved / 'meta.json').read_text())
    edit(meta)
    (saved / 'meta.json').write_text(json.dumps(meta))


def test_flipped_byte_is_detected(saved):
    data = bytearray((saved / 'logits.npy').read_bytes())
    data[-1] ^= 0x01
    (saved / 'logits.npy').write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match=r'logits\.npy: sha256 differs'):
        ReplayBuffer.load(saved)


def test_truncated_file_is_detected(saved):
    data = (saved / 'labels.npy').read_bytes()
    (saved / 'labels.npy').write_bytes(data[:-7])
    with pytest.raises(DataFormatError, match=r'labels\.npy: size .* \(truncated or padded\)'):
        ReplayBuffer.load(saved)
    (saved / 'labels.npy').write_bytes(b'garbage')
    with pytest.raises(DataFormatError, match=r'labels\.npy: invalid \.npy header'):
        ReplayBuffer.load(saved)


def test_wrong_shape_in_meta(saved):
    edit_meta(saved, lambda m: m['arrays']['images'].update(shape=[3, 3, 4, 4]))
    with pytest.raises(DataFormatError, match=r"meta\.json: array 'images' has shape \[3, 3, 4, 4\]"):
        ReplayBuffer.load(saved)


def test_npy_header_disagreeing_with_meta(saved):
    def grow(m):  # a consistent meta.json for a larger crop: the files' headers now disagree
        m['image_shape'] = [3, 6, 5]
        for name in ('images', 'labels', 'seen'):
            m['arrays'][name]['shape'][-2] = 6
    edit_meta(saved, grow)
    with pytest.raises(DataFormatError, match=r'images\.npy: header says shape \(3, 3, 4, 5\)'):
        ReplayBuffer.load(saved)


@pytest.mark.parametrize('edit,message', [
    (lambda m: m.update(version=2), 'format version 2, this reader handles version 1'),
    (lambda m: m.update(count=2), 'count 2 does not match'),
    (lambda m: m['arrays']['seen'].update(dtype='<f4'), "array 'seen' has dtype '<f4'"),
    (lambda m: m['arrays'].pop('task'), 'arrays must list exactly'),
    (lambda m: m.update(format='other'), 'not a replay buffer'),
])
def test_bad_meta_fields(saved, edit, message):
    edit_meta(saved, edit)
    with pytest.raises(DataFormatError, match=r'meta\.json: ' + message.replace('(', r'\(')):
        ReplayBuffer.load(saved)


def test_missing_files(saved, tmp_path):
    (saved / 'seen.npy').unlink()
    with pytest.raises(UserFileNotFoundError, match=r'seen\.npy does not exist'):
        ReplayBuffer.load(saved)
    (saved / 'meta.json').write_text('{not json')
    with pytest.raises(DataFormatError, match=r'meta\.json: not readable as JSON'):
        ReplayBuffer.load(saved)
    (saved / 'meta.json').unlink()
    with pytest.raises(UserFileNotFoundError, match=r'meta\.json does not exist'):
        ReplayBuffer.load(saved)
    with pytest.raises(UserFileNotFoundError, match='nowhere does not exist'):
        ReplayBuffer.load(tmp_path / 'nowhere')
