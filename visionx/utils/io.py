"""Small I/O helpers: atomic writes so that an interrupted run never leaves a half-written file.

Every writer goes through :func:`atomic_path`: the data goes to a temporary file next to the destination,
which is renamed onto it only when the write succeeded.

* **File mode.** The final file gets the mode a plain ``open(path, 'w')`` would give it: the mode of the
  file it replaces, or ``0o666`` minus the process umask for a new file (``0644`` under umask 022), not the
  ``0600`` of :func:`tempfile.mkstemp`.
* **Temporaries.** They are named ``.<name>.vxtmp-<host>-<pid>-<random><suffix>`` (hidden, the
  destination's suffix kept so that writers choosing the format from the extension keep working).  A
  process killed with ``kill -9`` leaves its temporary behind; the next :func:`atomic_path` into the same
  folder removes those whose writer process is gone (same host, PID no longer alive).  Temporaries of live
  processes or other hosts (shared file systems) are left alone.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import stat
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import OutputPathError

#: Marker in the names of temporary files (see the module docstring).
TMP_MARKER = '.vxtmp-'
_TMP_NAME = re.compile(r'^\..*\.vxtmp-(?P<host>[A-Za-z0-9_-]{1,16})-(?P<pid>\d+)-[A-Za-z0-9_]+')
_SWEPT: set[str] = set()


def _host_tag() -> str:
    """This host's name, reduced to at most 16 characters of ``[A-Za-z0-9_-]`` (for temporary names)."""
    return re.sub(r'[^A-Za-z0-9_-]', '_', socket.gethostname().split('.')[0])[:16] or 'host'


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (``/proc/self/status`` on Linux)."""
    try:
        with open('/proc/self/status') as fh:
            for line in fh:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: read by setting (briefly racy with other threads)
    os.umask(mask)
    return mask


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporaries that killed writers on this host left in ``folder``.

    Returns:
        The removed paths.
    """
    removed = []
    host = _host_tag()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TMP_NAME.match(entry.name)
        if m is None or m['host'] != host or not entry.is_file(follow_symlinks=False):
            continue
        pid = int(m['pid'])
        if pid != os.getpid() and not _pid_alive(pid):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _final_mode(path: Path) -> int:
    """The permission bits ``open(path, 'w')`` would leave: the existing file's, else 0o666 & ~umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    The first call into a folder (per process) also removes the stale temporaries of killed writers
    (:func:`remove_stale_temporaries`).  The final file gets the mode a plain ``open()`` would give it.

    Args:
        path: Final destination.
        suffix: Suffix of the temporary file (defaults to the destination's, so writers that pick the
            format from the extension, e.g. ``cv2.imwrite`` or ``trimesh.export``, keep working).
    """
    path = Path(path)
    check_output_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f'cannot write {path}: cannot create {path.parent} ({exc.strerror or exc})') from None
    folder = str(path.parent.resolve())
    if folder not in _SWEPT:
        remove_stale_temporaries(folder)
        _SWEPT.add(folder)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f'.{path.stem}{TMP_MARKER}{_host_tag()}-{os.getpid()}-',
                                   suffix=path.suffix if suffix is None else suffix, dir=path.parent)
    except OSError as exc:
        raise OutputPathError(f'cannot write {path}: {exc.strerror or exc}') from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, _final_mode(path))
        try:
            os.replace(tmp_path, path)
        except OSError as exc:
            raise OutputPathError(f'cannot write {path}: {exc.strerror or exc}') from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _check_creatable(folder: Path, what: str, path: Path) -> None:
    """``folder`` exists as a writable folder, or can be created: its nearest existing ancestor is one."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise OutputPathError(f'{what} {path}: {probe} is a file, not a folder')
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputPathError(f'{what} {path}: the folder {probe} is not writable')


def check_output_path(path: str | os.PathLike, what: str = 'output') -> Path:
    """Make sure ``path`` can be written as a file, before long work: not a folder, and its folder exists
    and is writable or can be created (nothing is created here).

    Raises:
        OutputPathError: naming the path and the reason.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f'{what} {path} is a folder; give a file path')
    _check_creatable(path.parent, what, path)
    return path


def check_output_dir(path: str | os.PathLike, what: str = 'output folder') -> Path:
    """Make sure ``path`` is, or can be created as, a writable folder (nothing is created here).

    Raises:
        OutputPathError: ``path`` or an ancestor is a file, or the folder is not writable.
    """
    path = Path(path)
    _check_creatable(path, what, path)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _json_default(obj: Any) -> Any:
    """numpy scalars/arrays and tensors become Python numbers/lists; anything else its ``str``."""
    if hasattr(obj, 'tolist'):
        return obj.tolist()
    return str(obj)


def atomic_write_json(path: str | os.PathLike, obj: Any, **kwargs) -> None:
    """Dump ``obj`` as JSON to ``path`` atomically (indented; numpy values become numbers)."""
    kwargs.setdefault('indent', 2)
    kwargs.setdefault('default', _json_default)
    atomic_write_text(path, json.dumps(obj, **kwargs) + '\n')


def register_atomic_local_backend() -> None:
    """Make MMEngine's ``local`` file backend write atomically (temporary file + rename).

    Checkpoints, logs' JSON dumps and anything else MMEngine ``put``s through its file backend then never
    exist half-written, even when a run is killed while saving.
    """
    from mmengine.fileio.backends import LocalBackend, register_backend

    class AtomicLocalBackend(LocalBackend):
        def put(self, obj: bytes, filepath) -> None:
            with atomic_path(filepath) as tmp:
                tmp.write_bytes(obj)

        def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
            with atomic_path(filepath) as tmp:
                tmp.write_text(obj, encoding=encoding)

    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
