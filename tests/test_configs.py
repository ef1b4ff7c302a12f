"""Every config under configs/ builds: its model, its train / val / test datasets and one collated batch.

Nothing is skipped.  Demo configs (``data_root='data/demo/...'``) read the small demo datasets of the
``demo_root`` fixture; configs for official datasets (``data/DUTS``, ``data/ShapeNet``, ``data/LA``, ...) read
the ``official_root`` fixture, a tiny synthetic stand-in for ``data/`` written in each dataset's official
on-disk layout (:func:`visionx.datasets.demo_data.make_official_layouts`).  For every dataset, item 0 goes
through the config's pipeline, the dataloader's ``collate_fn`` and the model's ``data_preprocessor``.
Datasets with the same config are built once per session.
"""
from __future__ import annotations

import contextlib
import copy
import functools
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import FUNCTIONS, init_default_scope

from tests.conftest import REPO_ROOT
from visionx.utils import iter_dataset_cfgs

CONFIGS = sorted(p for p in (REPO_ROOT / 'configs').rglob('*.py') if '_base_' not in p.parts)
DEMO_PREFIX = 'data/demo/'
DATA_PREFIX = 'data/'
_DATASETS: dict[str, object] = {}  # repr of a relocated dataset config -> built dataset


def _relocate(obj, demo_root: Path, official_root: Path):
    """Point every ``data/demo/...`` string at ``demo_root`` and every other ``data/...`` at ``official_root``."""
    if isinstance(obj, dict):
        return {k: _relocate(v, demo_root, official_root) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_relocate(v, demo_root, official_root) for v in obj)
    if isinstance(obj, str) and obj.startswith(DEMO_PREFIX):
        return str(demo_root / obj[len(DEMO_PREFIX):])
    if isinstance(obj, str) and obj.startswith(DATA_PREFIX):
        return str(official_root / obj[len(DATA_PREFIX):])
    return obj


def _collate_fn(loader_cfg: dict):
    """The dataloader's collate function, built as mmengine's Runner builds it."""
    cfg = copy.deepcopy(loader_cfg.get('collate_fn', dict(type='pseudo_collate')))
    fn = cfg.pop('type')
    if isinstance(fn, str):
        fn = FUNCTIONS.get(fn)
    assert fn is not None, f'collate_fn {loader_cfg.get("collate_fn")} is not registered'
    return functools.partial(fn, **cfg)


def _check_tensors(obj, where: str) -> int:
    """Count the tensors in a preprocessed batch and check that they are finite."""
    if isinstance(obj, torch.Tensor):
        if obj.is_floating_point():
            assert torch.isfinite(obj).all(), f'non-finite values in {where}'
        return 1
    if isinstance(obj, dict):
        return sum(_check_tensors(v, where) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_check_tensors(v, where) for v in obj)
    return 0


@contextlib.contextmanager
def skip_weight_init():
    """Build models without filling their weights (``torch.nn.init.*_`` become no-ops).

    The test checks that every config *builds* and that its batches go through the data preprocessor; the
    weight values play no part, and filling ~140 models' weights with random numbers was a third of this
    file's time.  The preprocessor's mean / std buffers do not come from ``torch.nn.init``.
    """
    names = [n for n in dir(torch.nn.init) if n.endswith('_') and not n.startswith('_')]
    saved = {n: getattr(torch.nn.init, n) for n in names}
    try:
        for n in names:
            setattr(torch.nn.init, n, lambda tensor, *args, **kwargs: tensor)
        yield
    finally:
        for n, fn in saved.items():
            setattr(torch.nn.init, n, fn)


def test_there_are_configs_to_check():
    assert len(CONFIGS) >= 1, 'no configs found under configs/: this test would check nothing'


def test_every_config_dir_has_a_readme():
    for folder in {p.parent for p in CONFIGS}:
        assert (folder / 'README.md').is_file(), f'{folder} has no README.md'


@pytest.mark.parametrize('path', CONFIGS, ids=[str(p.relative_to(REPO_ROOT / 'configs')) for p in CONFIGS])
def test_config_builds(path: Path, demo_root: Path, official_root: Path):
    from visionx.registry import DATASETS, MODELS

    cfg = Config.fromfile(str(path))
    assert cfg.get('default_scope') == 'visionx', 'configs must inherit configs/_base_/default_runtime.py'
    init_default_scope('visionx')
    with skip_weight_init():
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0

    splits = {split for split, _ in iter_dataset_cfgs(cfg)}
    assert {'train', 'test'} <= splits, f'{path.name} lacks a train or test dataloader (has {sorted(splits)})'
    for split, ds_cfg in iter_dataset_cfgs(cfg):
        root = str(ds_cfg.get('data_root', ''))
        assert root.startswith(DATA_PREFIX), f'{split} dataset of {path.name}: data_root {root!r} is not under data/'
        ds_cfg = _relocate(ds_cfg.to_dict(), demo_root, official_root)
        key = repr(ds_cfg)
        if key not in _DATASETS:
            _DATASETS[key] = DATASETS.build(ds_cfg)
        dataset = _DATASETS[key]
        assert len(dataset) > 0, f'{split} dataset of {path.name} is empty'
        batch = _collate_fn(cfg[f'{split}_dataloader'])([dataset[0]])
        with torch.no_grad():
            data = model.data_preprocessor(batch, training=split == 'train')
        assert _check_tensors(data['inputs'], f'{split} batch of {path.name}') >= 1, \
            f'{split} batch of {path.name} holds no input tensor'
