"""Small I/O helpers: atomic writes so that an interrupted run never leaves a half-written file."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    Args:
        path: Final destination.
        suffix: Suffix of the temporary file (defaults to the destination's, so writers that pick the
            format from the extension, e.g. ``cv2.imwrite`` or ``trimesh.export``, keep working).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{path.stem}.', suffix=path.suffix if suffix is None else suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


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
