"""Every config under configs/ builds: its model always, its datasets when they use the demo data.

Configs for official datasets point at ``data/<DATASET>``, which the CI does not have; their datasets are
built only when the data is present.  Demo configs (``data/demo/...``) are built against the small demo
datasets that the ``demo_root`` fixture generates, and one sample is loaded from each split.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tests.conftest import REPO_ROOT
from visionx.utils import iter_dataset_cfgs

CONFIGS = sorted(p for p in (REPO_ROOT / 'configs').rglob('*.py') if '_base_' not in p.parts)
DEMO_PREFIX = 'data/demo/'


def _relocate(obj, demo_root: Path):
    """Replace the ``data/demo/`` prefix of every string in a config tree by ``demo_root``."""
    if isinstance(obj, dict):
        return {k: _relocate(v, demo_root) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_relocate(v, demo_root) for v in obj)
    if isinstance(obj, str) and obj.startswith(DEMO_PREFIX):
        return str(demo_root / obj[len(DEMO_PREFIX):])
    return obj


def test_there_are_configs_to_check():
    assert len(CONFIGS) >= 1, 'no configs found under configs/: this test would check nothing'


def test_every_config_dir_has_a_readme():
    for folder in {p.parent for p in CONFIGS}:
        assert (folder / 'README.md').is_file(), f'{folder} has no README.md'


@pytest.mark.parametrize('path', CONFIGS, ids=[str(p.relative_to(REPO_ROOT / 'configs')) for p in CONFIGS])
def test_config_builds(path: Path, demo_root: Path):
    from visionx.registry import DATASETS, MODELS

    cfg = Config.fromfile(str(path))
    assert cfg.get('default_scope') == 'visionx', 'configs must inherit configs/_base_/default_runtime.py'
    init_default_scope('visionx')
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    del model

    for split, ds_cfg in iter_dataset_cfgs(cfg):
        root = str(ds_cfg.get('data_root', ''))
        if root.startswith(DEMO_PREFIX):
            ds_cfg = _relocate(ds_cfg.to_dict(), demo_root)
        elif not root or not (REPO_ROOT / root).exists():
            continue  # an official dataset that is not on this machine
        dataset = DATASETS.build(ds_cfg)
        assert len(dataset) > 0, f'{split} dataset of {path.name} is empty'
        sample = dataset[0]
        assert sample is not None
