"""The configs are built from ``configs/_base_/`` the way mmseg's are.

Every method config inherits (directly or through the sibling config it varies) one dataset setting from
``_base_/datasets/``, one model from ``_base_/models/`` and one schedule from ``_base_/schedules/``, and
defines none of the blocks those files own (pipelines, full data loaders, hook sets).  The resolved values
are checked against what the config *name* promises (``{algo}_{backbone}_{gpus}xb{batch}-{schedule}_
{dataset}-{crop}``), which is independent of how the files are split.  ``tests/test_configs.py`` builds
every model and demo dataset; here only the small demo models are built.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tests.conftest import REPO_ROOT

CONFIG_ROOT = REPO_ROOT / 'configs'
BASE_ROOT = CONFIG_ROOT / '_base_'
METHOD_CONFIGS = sorted(p for p in CONFIG_ROOT.rglob('*.py') if '_base_' not in p.parts)
BASE_FILES = sorted(p for p in BASE_ROOT.rglob('*.py'))
IDS = [str(p.relative_to(CONFIG_ROOT)) for p in METHOD_CONFIGS]
BASE_KINDS = ('datasets', 'models', 'schedules')
DEMO = re.compile(r'[_-](demo|synth|synshapes)-')  # the dataset part of a CPU-demo config's name


def _module(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _direct_bases(path: Path) -> list[Path]:
    """The files named in ``path``'s ``_base_`` (a string or a list of strings), resolved to absolute paths."""
    for node in _module(path).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == '_base_' for t in node.targets):
            value = ast.literal_eval(node.value)
            names = [value] if isinstance(value, str) else list(value)
            return [(path.parent / name).resolve() for name in names]
    return []


def _all_bases(path: Path) -> set[Path]:
    """Every file ``path`` inherits from, through any number of ``_base_`` levels."""
    seen: set[Path] = set()
    stack = _direct_bases(path)
    while stack:
        base = stack.pop()
        assert base.is_file(), f'{path}: base {base} does not exist'
        if base not in seen:
            seen.add(base)
            stack.extend(_direct_bases(base))
    return seen


def _kind(base: Path) -> str | None:
    parts = base.relative_to(BASE_ROOT.resolve()).parts if base.is_relative_to(BASE_ROOT.resolve()) else ()
    return parts[0] if len(parts) == 2 and parts[0] in BASE_KINDS else None


def test_the_base_folders_are_there():
    for kind in BASE_KINDS:
        assert sorted((BASE_ROOT / kind).glob('*.py')), f'configs/_base_/{kind}/ holds no config'
    assert len(METHOD_CONFIGS) >= 30, 'fewer method configs than expected: is the glob still right?'


@pytest.mark.parametrize('path', METHOD_CONFIGS, ids=IDS)
def test_inherits_a_dataset_a_model_and_a_schedule(path: Path):
    kinds = [_kind(b) for b in _all_bases(path)]
    for kind in BASE_KINDS:
        assert kinds.count(kind) >= 1, f'{path.name} inherits no configs/_base_/{kind}/ file'
    assert (BASE_ROOT / 'default_runtime.py').resolve() in _all_bases(path)


def test_every_base_file_is_used():
    used = set().union(*(_all_bases(p) for p in METHOD_CONFIGS))
    unused = [str(b.relative_to(CONFIG_ROOT)) for b in BASE_FILES if b.resolve() not in used]
    assert not unused, f'base configs no method config inherits: {unused}'


def _dict_keywords(node: ast.expr) -> set[str]:
    return {kw.arg for kw in node.keywords if kw.arg} if isinstance(node, ast.Call) else set()


@pytest.mark.parametrize('path', METHOD_CONFIGS, ids=IDS)
def test_method_configs_do_not_repeat_base_blocks(path: Path):
    """Pipelines, whole data loaders and hook sets live in the base files only."""
    for node in _module(path).body:
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            name = getattr(target, 'id', '')
            where = f'{path.name}:{node.lineno}'
            assert not name.endswith('_pipeline'), f'{where}: {name} belongs in configs/_base_/datasets/'
            if name.endswith('_dataloader'):
                assert 'sampler' not in _dict_keywords(node.value), \
                    f'{where}: a whole {name} belongs in configs/_base_/datasets/'
            if name == 'default_hooks':
                assert 'timer' not in _dict_keywords(node.value), \
                    f'{where}: the hook set belongs in configs/_base_/schedules/'


def _dataset_cfgs(cfg: Config) -> list[dict]:
    out = []
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if loader:
            dataset = loader['dataset']
            out.extend(dataset.get('datasets', [dataset]))
    return out


@pytest.mark.parametrize('path', METHOD_CONFIGS, ids=IDS)
def test_data_root_is_the_root_of_every_dataset(path: Path):
    """``data_root`` stays a top-level variable that every dataset of the config lives under."""
    cfg = Config.fromfile(str(path))
    assert isinstance(cfg.get('data_root'), str), f'{path.name}: no top-level data_root'
    for dataset in _dataset_cfgs(cfg):
        assert dataset['data_root'].startswith(cfg.data_root), (path.name, dataset['data_root'], cfg.data_root)
    assert cfg.data_root.startswith('data/demo/') == bool(DEMO.search(path.stem)), path.name


NAME = re.compile(r'_(?P<gpus>\d+)xb(?P<batch>\d+)-(?:stage\d-)?(?:(?P<rounds>\d+)x)?(?P<length>\d+)(?P<unit>k|it|e)_')


def _name_parts(path: Path) -> dict:
    match = NAME.search(path.stem)
    assert match, f'{path.name} does not follow {{algo}}_{{backbone}}_{{gpus}}xb{{batch}}-{{schedule}}_{{data}}'
    return match.groupdict()


@pytest.mark.parametrize('path', METHOD_CONFIGS, ids=IDS)
def test_resolved_values_match_the_name(path: Path):
    """Batch size and schedule length resolved through the bases are the ones the file name states."""
    cfg = Config.fromfile(str(path))
    parts = _name_parts(path)
    assert cfg.train_dataloader.batch_size == int(parts['batch']), path.name
    length = int(parts['length']) * (1000 if parts['unit'] == 'k' else 1)
    if parts['rounds']:
        assert cfg.train_cfg.type == 'SelfDistillationLoop'
        assert (cfg.train_cfg.rounds, cfg.train_cfg.iters_per_round) == (int(parts['rounds']), length)
        assert cfg.param_scheduler[0].end == length, 'the poly schedule spans one round'
    elif parts['unit'] == 'e':
        assert cfg.train_cfg.type == 'EpochBasedTrainLoop' and cfg.train_cfg.max_epochs == length
    else:
        assert cfg.train_cfg.type == 'IterBasedTrainLoop' and cfg.train_cfg.max_iters == length
        for scheduler in cfg.param_scheduler:
            assert scheduler.get('end', scheduler.get('T_max')) == length, (path.name, scheduler)


TRACOCO = sorted((CONFIG_ROOT / 'tracoco').glob('*.py'))


@pytest.mark.parametrize('path', TRACOCO, ids=[p.name for p in TRACOCO])
def test_tracoco_patch_and_labels_match_the_name(path: Path):
    """The training crop and the sliding window are the name's patch; the ramp-up is 40 x labeled_num // 2."""
    cfg = Config.fromfile(str(path))
    labeled, *patch = (int(v) for v in re.search(r'-(\d+)lab-(\d+)x(\d+)x(\d+)$', path.stem).groups())
    patch = tuple(patch)
    crops = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'TranslatedViewCrop3D']
    assert [tuple(c.patch_size) for c in crops] == [patch]
    assert tuple(cfg.model.test_cfg.patch_size) == patch
    assert cfg.train_dataloader.dataset.labeled_num == labeled
    assert cfg.model.rampup_iters == 40 * (labeled // 2)


# BASNet's demo keeps the paper's 87M-parameter network (seconds to build): tests/test_configs.py builds it.
TINY_CONFIGS = [p for p in METHOD_CONFIGS if DEMO.search(p.stem) and p.parent.name != 'basnet']


@pytest.mark.parametrize('path', TINY_CONFIGS, ids=[p.name for p in TINY_CONFIGS])
def test_demo_models_build(path: Path):
    """The small demo models build from the resolved configs; tests/test_configs.py builds every model."""
    from visionx.registry import MODELS

    init_default_scope('visionx')
    model = MODELS.build(Config.fromfile(str(path)).model)
    assert sum(p.numel() for p in model.parameters()) > 0
