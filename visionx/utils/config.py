"""Config loading and validation with messages a user can act on."""
from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from mmengine.config import Config, ConfigDict

from .errors import ConfigError

_MISSING = object()


def load_config(path: str | os.PathLike, cfg_options: dict | None = None) -> Config:
    """Load ``path`` and apply ``cfg_options`` (``--cfg-options``), rejecting keys that do not exist.

    MMEngine silently adds any unknown key, so a typo such as ``optim_wrapper.optimizer.lrr=0.1`` would
    be ignored or fail much later with a traceback; here it is a :class:`ConfigError` that names the key
    and the closest existing ones.  List items are addressed by index (``a.b.0.c``) as in MMEngine.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ConfigError: the file does not parse, or an override names a key the config does not have.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(str(path))
    except (SyntaxError, NameError, KeyError, ImportError, TypeError) as exc:
        raise ConfigError(f'cannot parse config {path}: {type(exc).__name__}: {exc}') from None
    if cfg_options:
        for key in cfg_options:
            _check_key_exists(cfg, key, path)
        cfg.merge_from_dict(cfg_options)
    return cfg


def _check_key_exists(cfg: Config, key: str, path: Path) -> None:
    node: Any = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    walked = []
    for part in key.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, (dict, ConfigDict)) and part in node:
            node = node[part]
        else:
            options = list(node.keys()) if isinstance(node, (dict, ConfigDict)) else []
            close = difflib.get_close_matches(part, options, n=3)
            where = '.'.join(walked) or '<top level>'
            hint = f'; did you mean {", ".join(repr(c) for c in close)}?' if close else ''
            raise ConfigError(
                f'--cfg-options key {key!r}: {where!r} in {path} has no key {part!r}{hint}')
        walked.append(part)


def iter_dataset_cfgs(cfg: Config, splits=('train', 'val', 'test')):
    """Yield ``(split, dataset_cfg)`` for the dataloaders of ``splits`` present in ``cfg``.

    Wrapped datasets (``ConcatDataset``/``RepeatDataset``: ``datasets=[...]`` / ``dataset=...``) are
    flattened.
    """
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        stack = [loader.get('dataset')]
        while stack:
            ds = stack.pop()
            if ds is None:
                continue
            if 'datasets' in ds:
                stack.extend(ds['datasets'])
            elif 'dataset' in ds:
                stack.append(ds['dataset'])
            else:
                yield split, ds


def check_data_roots(cfg: Config, splits=('train', 'val', 'test')) -> None:
    """Fail early, with the path and a pointer to the docs, when a dataset's ``data_root`` is missing."""
    for split, ds in iter_dataset_cfgs(cfg, splits):
        root = ds.get('data_root')
        if root and not Path(root).exists():
            hint = ('run `python tools/data/make_demo_data.py` to generate it'
                    if 'demo' in Path(root).parts else
                    'see the dataset preparation section of the README')
            raise FileNotFoundError(
                f'{split} dataset {ds.get("type")!r}: data_root {root!r} does not exist ({hint})')
