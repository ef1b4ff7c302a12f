"""Checkpoints under torch's weights-only loader: MMEngine state loads, pickled payloads are refused."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import visionx  # noqa: F401  (registers the safe globals)
from visionx.utils import CheckpointMismatchError, check_checkpoint_matches


class _Payload:
    """Unpickling this would create a marker file (stand-in for arbitrary code execution)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def test_message_hub_state_round_trips_with_weights_only(tmp_path):
    hub = MessageHub.get_instance('ckpt_test')
    for v in (1.0, 2.0, 3.0):
        hub.update_scalar('train/loss', v)
    hub.update_info('eta', np.float64(12.5))
    ckpt = dict(meta=dict(seed=np.int64(3), dtype=np.dtype('float32'), arr=np.arange(4)),
                message_hub=hub.state_dict(), state_dict={'w': torch.ones(2)})
    path = tmp_path / 'ckpt.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path)  # torch >= 2.6: weights_only=True by default
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(2.0) and buf.current() == 3.0
    assert buf.statistics('max') == 3.0  # statistics functions are re-created, not unpickled
    assert loaded['meta']['seed'] == 3 and loaded['meta']['dtype'] == np.float32
    np.testing.assert_array_equal(loaded['meta']['arr'], np.arange(4))


def test_malicious_payload_is_refused_not_executed(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'meta': _Payload(marker)}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    with pytest.raises(CheckpointMismatchError, match='cannot load checkpoint'):
        check_checkpoint_matches(torch.nn.Linear(1, 1), str(path))
    from mmengine.runner import load_checkpoint
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(torch.nn.Linear(1, 1), str(path))
    assert not marker.exists()


def test_history_buffer_pickle_has_no_getattr_global(tmp_path):
    buf = HistoryBuffer()
    buf.update(1.0)
    data = pickle.dumps(buf, protocol=2)
    assert b'getattr' not in data


def test_check_checkpoint_matches(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {f'module.{k}': v for k, v in model.state_dict().items()}}, good)
    check_checkpoint_matches(model, str(good))  # 'module.' prefix of DDP checkpoints is accepted

    other = tmp_path / 'other.pth'
    torch.save({'state_dict': torch.nn.Conv2d(1, 1, 1).state_dict()}, other)
    with pytest.raises(CheckpointMismatchError, match=r'4 of the model\'s 4 keys missing'):
        check_checkpoint_matches(model, str(other))

    shaped = tmp_path / 'shaped.pth'
    torch.save({'state_dict': torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Linear(4, 1))
                .state_dict()}, shaped)
    with pytest.raises(CheckpointMismatchError, match='shape mismatch'):
        check_checkpoint_matches(model, str(shaped))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        check_checkpoint_matches(model, str(tmp_path / 'nope.pth'))


def test_numpy_1x_pickles_load_with_weights_only(tmp_path):
    """A checkpoint written under numpy 1.x names numpy.core.multiarray (numpy 2: numpy._core): still safe to
    load.  The file is a legacy (non-zip) torch pickle with the module names rewritten as numpy 1.x wrote them."""
    path = tmp_path / 'np1.pth'
    torch.save(dict(meta=dict(arr=np.arange(3.0), val=np.float64(2.5))), path, _use_new_zipfile_serialization=False)
    raw = path.read_bytes()
    assert b'numpy._core.multiarray' in raw  # protocol 2 GLOBAL opcodes: newline-terminated, no lengths
    path.write_bytes(raw.replace(b'numpy._core.multiarray', b'numpy.core.multiarray'))
    ckpt = torch.load(path)
    assert np.array_equal(ckpt['meta']['arr'], np.arange(3.0)) and ckpt['meta']['val'] == 2.5


def test_runner_names_the_checkpoint_the_safe_loader_refuses(tmp_path):
    """A file holding a class outside the allow-list: a DataFormatError naming the file and the global."""
    from collections import OrderedDict
    from fractions import Fraction

    from visionx.engine.runner import VisionXRunner
    from visionx.utils.errors import DataFormatError
    path = tmp_path / 'other.pth'
    torch.save(dict(state_dict=OrderedDict(), meta=dict(obj=Fraction(1, 3))), path)
    runner = object.__new__(VisionXRunner)
    with pytest.raises(DataFormatError, match=r'other\.pth: refused by torch.s safe .*Fraction'):
        runner.load_checkpoint(str(path))
