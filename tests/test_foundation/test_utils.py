"""Atomic writes and config validation."""
import pytest

from tests.conftest import REPO_ROOT
from visionx.utils import ConfigError, ConfigOverrideWarning, atomic_path, atomic_write_json, load_config


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / 'out.json'
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"half": ')
            raise RuntimeError('killed')
    assert list(tmp_path.iterdir()) == []
    atomic_write_json(target, {'a': 1})
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ['out.json']


def test_mmengine_local_backend_writes_atomically(tmp_path):
    import visionx  # noqa: F401
    from mmengine.fileio import get_file_backend
    backend = get_file_backend(str(tmp_path))
    backend.put(b'abc', str(tmp_path / 'sub' / 'x.bin'))
    assert (tmp_path / 'sub' / 'x.bin').read_bytes() == b'abc'
    assert type(backend).__name__ == 'AtomicLocalBackend'


def test_load_config_overrides_and_errors():
    cfg_path = REPO_ROOT / 'tests' / 'fixtures' / 'tiny_seg.py'
    cfg = load_config(cfg_path, {'train_cfg.max_iters': 3, 'model.decode_head.num_classes': 2})
    assert cfg.train_cfg.max_iters == 3
    with pytest.raises(ConfigError, match="did you mean 'max_iters'"):
        load_config(cfg_path, {'train_cfg.max_iter': 3})
    with pytest.warns(ConfigOverrideWarning, match="has no key 'nope'"):   # MMEngine adds new keys
        assert load_config(cfg_path, {'nope.x': 1}).nope == dict(x=1)
    with pytest.raises(FileNotFoundError, match='missing.py'):
        load_config(REPO_ROOT / 'missing.py')
