"""Registry of the synthetic demo-data generators, one per method.

Each entry maps a method name to ``'module:function'``; the function has the signature
``make_demo(root: pathlib.Path, seed: int = 0, small: bool = False) -> None`` and writes a small dataset in
the method's *real* on-disk layout under ``root`` (``root`` is ``<demo root>/<method name>``).  ``small=True``
asks for the smallest dataset that still exercises every split (used by the tests).
``tools/data/make_demo_data.py`` and the test-suite fixtures call these.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

DEMO_GENERATORS: dict[str, str] = {
    'gridformer': 'visionx.datasets.reconstruction.synthetic_shapes:make_demo',
    'basnet': 'visionx.datasets.salient.synthetic:make_demo',
    'topomortar': 'visionx.datasets.topomortar.synthetic:make_demo',
    'tracoco': 'visionx.datasets.medical.synthetic:make_demo',
}


def get_generator(name: str) -> Callable[..., None]:
    """Import and return the generator registered as ``name``."""
    if name not in DEMO_GENERATORS:
        raise KeyError(f'no demo-data generator named {name!r}; known: {sorted(DEMO_GENERATORS)}')
    module, func = DEMO_GENERATORS[name].split(':')
    return getattr(importlib.import_module(module), func)


def make_demo_data(root: str | Path, names: list[str] | None = None, seed: int = 0,
                   small: bool = False) -> list[Path]:
    """Write the demo datasets ``names`` (default: all) under ``root/<name>``; return their folders.

    A dataset whose folder already holds a ``.complete`` marker is kept as is (idempotent).  Generators
    write into a temporary sibling folder that is renamed into place only when complete, so an interrupted
    run leaves nothing half-written.
    """
    import shutil
    root = Path(root)
    out = []
    for name in names or sorted(DEMO_GENERATORS):
        target = root / name
        out.append(target)
        if (target / '.complete').exists():
            continue
        tmp = root / f'.{name}.partial'
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        get_generator(name)(tmp, seed=seed, small=small)
        (tmp / '.complete').write_text(f'seed={seed} small={small}\n')
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    return out
