"""Config loading, ``--cfg-options`` checking and data-root overrides, with messages a user can act on."""
from __future__ import annotations

import inspect
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from mmengine.config import Config

from .errors import ConfigError, UserFileNotFoundError

#: Top-level config keys that MMEngine's ``Runner`` (or VisionX's tools) read at run time.  Any other
#: top-level key is a *variable* of the config file: MMEngine substituted its value where the file uses it
#: when the file was parsed, so overriding it later changes nothing.
RUNTIME_KEYS = frozenset({
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg', 'val_cfg',
    'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler', 'val_evaluator', 'test_evaluator',
    'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from', 'resume', 'launcher', 'env_cfg',
    'log_processor', 'log_level', 'visualizer', 'default_scope', 'randomness', 'experiment_name',
    # read from ``runner.cfg`` / by the tools rather than passed to ``Runner.__init__``
    'runner_type', 'model_wrapper_cfg', 'find_unused_parameters', 'compile', 'custom_imports',
    'tta_model', 'tta_pipeline', 'sync_bn',
    'ciss',  # read by IncrementalRunner
})


class ConfigOverrideWarning(UserWarning):
    """A ``--cfg-options`` override is accepted but probably not what the user meant."""


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest single-character insertions, deletions and substitutions.

    >>> edit_distance('intervl', 'interval')
    1
    """
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def load_config(path: str | os.PathLike, cfg_options: dict | None = None) -> Config:
    """Load ``path`` and apply ``cfg_options`` (``--cfg-options``) as MMEngine does, after checking them.

    Every override MMEngine accepts is accepted, new keys included.  :func:`check_cfg_option` turns a
    likely typo of an existing key into a :class:`ConfigError` and warns (:class:`ConfigOverrideWarning`)
    about new keys and about overrides of config-file variables that change nothing.

    Raises:
        UserFileNotFoundError: ``path`` does not exist.
        ConfigError: the file does not parse, or an override is a typo or cannot be merged.
    """
    path = Path(path)
    if not path.is_file():
        raise UserFileNotFoundError(f'config file not found: {path}')
    if path.suffix.lower() not in ('.py', '.json', '.yaml', '.yml'):
        raise ConfigError(f'{path} is not a config file (.py, .json, .yaml or .yml)')
    try:
        cfg = Config.fromfile(str(path))
    except Exception as exc:  # noqa: BLE001 - executing the file can raise anything; it is the user's file
        raise ConfigError(f'cannot parse config {path}: {type(exc).__name__}: {exc}') from None
    if cfg_options:
        for key in cfg_options:
            check_cfg_option(cfg, key, path)
        cfg.merge_from_dict(cfg_options)
    return cfg


def check_cfg_option(cfg: Config | dict, key: str, path: str | os.PathLike = '<config>') -> None:
    """Check one ``--cfg-options`` key (``a.b.0.c``, list items addressed by index as in MMEngine).

    * An existing key is fine, and so is a new key that the parent's ``type`` (or ``Runner`` for
      ``randomness``) takes as an argument, e.g. ``default_hooks.checkpoint.save_best``.
    * The first component that does not exist is compared with its existing siblings: within edit
      distance 2 of one (and closer than the length of either name, so ``lr`` is no typo of ``wd``) it is
      a typo and a :class:`ConfigError` naming the sibling; otherwise MMEngine adds the key and a
      :class:`ConfigOverrideWarning` names the closest existing key.
    * An override of a top-level config-file variable (not in :data:`RUNTIME_KEYS`, e.g. ``data_root``)
      is accepted with a warning: its value was already copied into the places that use it.

    Raises:
        ConfigError: a likely typo, a list index out of range, or a key below a value that is no dict.
    """
    root = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    parts = key.split('.')
    node: Any = root
    for i, part in enumerate(parts):
        where = '.'.join(parts[:i]) or '<top level>'
        if isinstance(node, (list, tuple)):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f'--cfg-options key {key!r}: {where!r} in {path} is a list of {len(node)} '
                                  f'items; address them by index 0..{len(node) - 1}')
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise ConfigError(f'--cfg-options key {key!r}: {where!r} in {path} is {node!r}, not a dict, so it '
                              f'cannot hold a key {part!r}')
        if part not in node:
            _check_new_key(key, parts[:i], part, node, path)
            return
        node = node[part]
    if parts[0] not in RUNTIME_KEYS:
        hint = ('use --data-root DIR, which sets the data_root of every dataset' if parts[0] == 'data_root'
                else f'override the places that use it instead (e.g. {_uses_of(root, parts[0])})')
        warnings.warn(f'--cfg-options {key!r} changes nothing: {parts[0]!r} is a variable of {path} whose '
                      f'value was already copied where the file uses it; {hint}',
                      ConfigOverrideWarning, stacklevel=3)


def _check_new_key(key: str, parents: list[str], part: str, node: dict, path) -> None:
    where = '.'.join(parents) or '<top level>'
    if part in _accepted_arguments(parents, node):
        return
    siblings = [k for k in node if isinstance(k, str)]
    if not siblings:
        return  # an empty dict is a placeholder for whatever the user adds
    distance, closest = min((edit_distance(part, s), s) for s in siblings)
    if distance <= 2 and distance < min(len(part), len(closest)):
        raise ConfigError(f'--cfg-options key {key!r}: {where!r} in {path} has no key {part!r}; '
                          f'did you mean {closest!r}?')
    warnings.warn(f'--cfg-options key {key!r}: {where!r} in {path} has no key {part!r}, so it is added '
                  f'(closest existing key: {closest!r})', ConfigOverrideWarning, stacklevel=4)


def _accepted_arguments(parents: Sequence[str], node: dict) -> set[str]:
    """Names the object built from ``node`` takes as arguments (empty when unknown)."""
    func: Callable | None = None
    if list(parents) == ['randomness']:
        from mmengine.runner import Runner
        func = Runner.set_randomness
    elif isinstance(node.get('type'), str):
        func = _registered(node['type'])
    elif isinstance(node.get('type'), type):
        func = node['type']
    if func is None:
        return set()
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return set()
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _registered(name: str) -> type | None:
    from visionx import registry
    for reg_name in registry.__all__:
        try:
            obj = getattr(registry, reg_name).get(name)
        except (KeyError, ImportError):
            obj = None
        if obj is not None:
            return obj
    return None


def _uses_of(root: dict, name: str) -> str:
    """Paths where the value of top-level ``name`` appears elsewhere in the config (or a generic hint)."""
    value = root[name]
    found: list[str] = []

    def walk(node: Any, prefix: str) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) \
            if isinstance(node, (list, tuple)) else ()
        for k, v in items:
            path = f'{prefix}.{k}' if prefix else str(k)
            if path == name:
                continue
            if type(v) is type(value) and v == value:
                found.append(path)
            elif len(found) < 3:
                walk(v, path)

    walk(root, '')
    return ', '.join(found[:3]) if found else 'the keys that hold its value'


def iter_dataset_cfgs(cfg: Config, splits: Sequence[str] = ('train', 'val', 'test')
                      ) -> Iterator[tuple[str, dict]]:
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


def set_data_root(cfg: Config, data_root: str | os.PathLike) -> None:
    """Point every dataset of every dataloader (through dataset wrappers) and ``cfg.data_root`` at ``data_root``.

    This is what ``--data-root DIR`` does; ``--cfg-options data_root=DIR`` cannot, because the variable was
    already substituted into the dataloaders when the file was parsed.

    Raises:
        ConfigError: the config has no dataloader with a dataset.
    """
    datasets = [ds for _, ds in iter_dataset_cfgs(cfg)]
    if not datasets:
        raise ConfigError(f'--data-root: {cfg.filename} has no train/val/test dataloader with a dataset')
    for ds in datasets:
        ds['data_root'] = str(data_root)
    cfg.data_root = str(data_root)


def check_model_files(cfg: Config) -> None:
    """Fail early, before the runner writes anything, when a checkpoint the model config names is missing.

    Every string under a key ending in ``_checkpoint`` anywhere in ``cfg.model`` (e.g. the
    ``teacher_checkpoint`` of a distillation model, read when training starts) must be an existing file.

    Raises:
        UserFileNotFoundError: such a file does not exist.
    """
    def walk(node, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and key.endswith('_checkpoint') and isinstance(value, str):
                    if not Path(value).is_file():
                        raise UserFileNotFoundError(f'{where}.{key}: checkpoint {value!r} does not exist')
                else:
                    walk(value, f'{where}.{key}')
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{where}[{i}]')

    walk(cfg.get('model'), 'model')


def check_data_roots(cfg: Config, splits: Sequence[str] = ('train', 'val', 'test')) -> None:
    """Fail early, with the path and a pointer to the docs, when a dataset's ``data_root`` is missing.

    Raises:
        UserFileNotFoundError: a dataset's ``data_root`` does not exist.
    """
    for split, ds in iter_dataset_cfgs(cfg, splits):
        root = ds.get('data_root')
        if root and not Path(root).exists():
            hint = ('run `python tools/data/make_demo_data.py` to generate it'
                    if 'demo' in Path(root).parts else
                    'see the dataset preparation section of the README, or pass --data-root DIR')
            raise UserFileNotFoundError(
                f'{split} dataset {ds.get("type")!r}: data_root {root!r} does not exist ({hint})')
