"""Atomic writes and config validation."""
import os

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


def test_atomic_outputs_get_the_mode_of_a_plain_open(tmp_path):
    """Under umask 022 a new file is 0644 (0666 & ~022), as open() gives, not mkstemp's 0600; a replaced
    file keeps its own mode, as open() on an existing file does."""
    import os
    import stat
    old = os.umask(0o022)
    try:
        atomic_write_json(tmp_path / 'metrics.json', {'a': 1})
        assert stat.S_IMODE(os.stat(tmp_path / 'metrics.json').st_mode) == 0o644
        os.umask(0o077)
        atomic_write_json(tmp_path / 'private.json', {'a': 1})
        assert stat.S_IMODE(os.stat(tmp_path / 'private.json').st_mode) == 0o600
        os.chmod(tmp_path / 'metrics.json', 0o640)
        atomic_write_json(tmp_path / 'metrics.json', {'a': 2})
        assert stat.S_IMODE(os.stat(tmp_path / 'metrics.json').st_mode) == 0o640
    finally:
        os.umask(old)


def test_stale_temporaries_of_killed_writers_are_removed(tmp_path):
    """A temporary left by a dead process of this host is removed by the next write into the folder; those of
    a live process or another host are kept.  Temporaries carry a recognisable name."""
    import subprocess
    import sys

    from visionx.utils.io import _host_tag
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    host = _host_tag()
    stale = tmp_path / f'.huge_8000x6000.vxtmp-{host}-{dead.pid}-z1jdijmo.png'
    live = tmp_path / f'.other.vxtmp-{host}-{os.getppid()}-abcd1234.png'
    remote = tmp_path / f'.other.vxtmp-otherhost-{dead.pid}-abcd1234.png'
    for p in (stale, live, remote):
        p.write_bytes(b'partial')
    seen = []
    with atomic_path(tmp_path / 'new.png') as tmp:
        seen.append(tmp.name)
        tmp.write_bytes(b'done')
    assert seen[0].startswith(f'.new.vxtmp-{host}-{os.getpid()}-') and seen[0].endswith('.png')
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(['new.png', live.name, remote.name])


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
