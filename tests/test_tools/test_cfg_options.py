"""``--cfg-options`` checking, ``--data-root``, the user-error family and runner construction."""
from __future__ import annotations

import ast
import importlib.util
import warnings
from collections import OrderedDict

import pytest
from mmengine.config import Config

from tests.conftest import REPO_ROOT
from visionx.utils import (CheckpointMismatchError, ConfigError, ConfigOverrideWarning, DataFormatError,
                           UserFileNotFoundError, VisionXUserError, check_cfg_option, edit_distance,
                           load_config, set_data_root)
from visionx.utils.cli import run_tool

TOPOMORTAR = REPO_ROOT / 'configs/topomortar/cedice_dynunet_1xb10-12k_topomortar-512x512.py'
TINY_CFG = REPO_ROOT / 'tests/fixtures/tiny_seg.py'


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(f'vx_tool_{name}', REPO_ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _override_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, ConfigOverrideWarning)]


@pytest.mark.parametrize('a, b, expected', [
    ('kitten', 'sitting', 3),          # the textbook example: 2 substitutions + 1 insertion
    ('', 'abc', 3),
    ('intervl', 'interval', 1),
    ('save_best', 'save_last', 2),     # b->l, e->a
    ('ab', 'ba', 2),                   # a transposition costs 2 in Levenshtein distance
    ('max_it', 'max_iters', 3),
])
def test_edit_distance(a, b, expected):
    assert edit_distance(a, b) == expected
    assert edit_distance(b, a) == expected


def test_everyday_overrides_of_the_topomortar_config_are_accepted():
    options = {'default_hooks.checkpoint.save_best': 'Dice', 'randomness.deterministic': True,
               'model.test_cfg.mode': 'slide', 'default_hooks.checkpoint.save_last': False}
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        cfg = load_config(TOPOMORTAR, options)
    assert cfg.default_hooks.checkpoint.save_best == 'Dice'
    assert cfg.default_hooks.checkpoint.save_last is False
    assert cfg.default_hooks.checkpoint.interval == 1200          # the rest of the hook is kept
    assert cfg.randomness == dict(seed=42, deterministic=True)
    assert cfg.model.test_cfg == dict(mode='slide')
    # arguments of the hook / segmentor / Runner.set_randomness are no typos: no warning either
    assert _override_warnings(record) == []


def test_near_miss_of_an_existing_key_is_an_error():
    with pytest.raises(ConfigError, match="has no key 'intervl'; did you mean 'interval'"):
        load_config(TOPOMORTAR, {'default_hooks.checkpoint.intervl': 5})


def _cfg() -> Config:
    return Config(dict(train_cfg=dict(max_iters=10, val_interval=5), optimizer=dict(lr=0.1),
                       custom_hooks=[dict(type='X')], work_dir='w'))


def test_distance_two_is_an_error_three_a_warning():
    with pytest.raises(ConfigError, match="did you mean 'max_iters'"):
        check_cfg_option(_cfg(), 'train_cfg.max_itr')            # distance 2
    with pytest.warns(ConfigOverrideWarning, match="no key 'max_it'.*closest existing key: 'max_iters'"):
        check_cfg_option(_cfg(), 'train_cfg.max_it')             # distance 3


def test_far_off_new_keys_are_warnings_and_added(tmp_path):
    cfg_file = tmp_path / 'c.py'
    cfg_file.write_text('train_cfg = dict(max_iters=10, val_interval=5)\noptimizer = dict(lr=0.1)\n')
    # 3 insertions from 'val_interval'; 'max_iters' is >= 6 edits away (length 15 vs 9)
    with pytest.warns(ConfigOverrideWarning, match="no key 'val_interval_ms'.*closest existing key: 'val_interval'"):
        cfg = load_config(cfg_file, {'train_cfg.val_interval_ms': 3})
    assert cfg.train_cfg == dict(max_iters=10, val_interval=5, val_interval_ms=3)
    # 'wd' and 'lr' differ in both letters: distance 2, but no typo of a two-letter name
    with pytest.warns(ConfigOverrideWarning, match="closest existing key: 'lr'"):
        cfg = load_config(cfg_file, {'optimizer.wd': 0.01})
    assert cfg.optimizer == dict(lr=0.1, wd=0.01)
    # a missing parent: the first missing component is the new key
    with pytest.warns(ConfigOverrideWarning, match="'<top level>' .* has no key 'nope'"):
        cfg = load_config(cfg_file, {'nope.x': 1})
    assert cfg.nope == dict(x=1)


def test_existing_keys_pass_silently_and_impossible_paths_are_errors():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        check_cfg_option(_cfg(), 'train_cfg.max_iters')
        check_cfg_option(_cfg(), 'custom_hooks.0.type')
        check_cfg_option(_cfg(), 'work_dir')                     # read by the runner: no variable warning
    assert _override_warnings(record) == []
    with pytest.raises(ConfigError, match='list of 1 items'):
        check_cfg_option(_cfg(), 'custom_hooks.3.type')
    with pytest.raises(ConfigError, match="'train_cfg.max_iters' .* is 10, not a dict"):
        check_cfg_option(_cfg(), 'train_cfg.max_iters.x')


def test_override_of_a_substituted_variable_warns(tmp_path):
    cfg_file = tmp_path / 'c.py'
    cfg_file.write_text("data_root = 'data/a'\nsplit = 'val'\n"
                        "train_dataloader = dict(dataset=dict(data_root=data_root, split=split))\n")
    with pytest.warns(ConfigOverrideWarning, match="'data_root' changes nothing.*--data-root"):
        cfg = load_config(cfg_file, {'data_root': '/nonexistent'})
    assert cfg.train_dataloader.dataset.data_root == 'data/a'    # what the warning is about
    with pytest.warns(ConfigOverrideWarning, match="'split' changes nothing.*train_dataloader.dataset.split"):
        load_config(cfg_file, {'split': 'test'})


def test_ciss_task_keys_are_runtime_keys_not_variables():
    """``ciss.*`` is read by IncrementalRunner at run time: overriding it is not a no-op variable."""
    cfg_file = REPO_ROOT / 'configs/ciss/mib_deeplabv3-tiny_1xb8-300it_demo-voc-3-2-2-overlap.py'
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        cfg = load_config(cfg_file, {'ciss.later_steps': {'train_cfg.max_iters': 7}})
    assert cfg.ciss.later_steps == {'train_cfg.max_iters': 7}
    assert not [w for w in _override_warnings(record) if 'changes nothing' in w]


def _wrapped_cfg() -> Config:
    return Config(dict(
        data_root='old',
        train_dataloader=dict(dataset=dict(type='ConcatDataset', datasets=[
            dict(type='A', data_root='old/a'), dict(type='RepeatDataset', times=2,
                                                    dataset=dict(type='B', data_root='old/b'))])),
        val_dataloader=dict(dataset=dict(type='C', data_root='old/c')),
        test_dataloader=dict(dataset=dict(type='D'))))


def test_set_data_root_reaches_every_dataset_through_wrappers():
    cfg = _wrapped_cfg()
    set_data_root(cfg, '/new')
    train = cfg.train_dataloader.dataset.datasets
    assert [train[0].data_root, train[1].dataset.data_root] == ['/new', '/new']
    assert cfg.val_dataloader.dataset.data_root == '/new'
    assert cfg.test_dataloader.dataset.data_root == '/new'
    assert cfg.data_root == '/new'
    assert 'data_root' not in cfg.train_dataloader.dataset          # wrappers take no data_root
    with pytest.raises(ConfigError, match='--data-root'):
        set_data_root(Config(dict(model=dict())), '/new')


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_data_root_flag_of_the_tools(tool, tmp_path):
    module = _tool(tool)
    argv = [str(TINY_CFG)] + (['ckpt.pth'] if tool == 'test' else [])
    args = module.parse_args(argv + ['--data-root', str(tmp_path), '--work-dir', str(tmp_path / 'w')])
    cfg = module.prepare_config(load_config(TINY_CFG), args, str(TINY_CFG))
    assert cfg.train_dataloader.dataset.data_root == str(tmp_path)
    assert cfg.test_dataloader.dataset.data_root == str(tmp_path)
    assert cfg.data_root == str(tmp_path)
    assert '--data-root' in module.__doc__


def test_user_error_family():
    for cls, builtin in [(ConfigError, ValueError), (CheckpointMismatchError, ValueError),
                         (DataFormatError, ValueError), (UserFileNotFoundError, FileNotFoundError)]:
        assert issubclass(cls, VisionXUserError) and issubclass(cls, builtin)
    with pytest.raises(UserFileNotFoundError, match='config file not found'):
        load_config(REPO_ROOT / 'missing.py')


def _raiser(exc: Exception):
    def main():
        raise exc
    return main


def test_run_tool_prints_user_errors_in_one_line(capsys, monkeypatch):
    monkeypatch.delenv('VISIONX_DEBUG', raising=False)
    with pytest.raises(SystemExit) as exit_info:
        run_tool(_raiser(ConfigError('bad key x.y')))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == 'error: bad key x.y' and [ln for ln in err if ln.startswith('error:')] == [err[0]]
    with pytest.raises(SystemExit) as exit_info:
        run_tool(_raiser(UserFileNotFoundError('checkpoint not found: a.pth')))
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith('error: checkpoint not found: a.pth\n')
    with pytest.raises(SystemExit) as exit_info:
        run_tool(lambda: 0)
    assert exit_info.value.code == 0


@pytest.mark.parametrize('exc', [ValueError('a bug'), KeyError('a bug'), FileNotFoundError('a bug')])
def test_run_tool_keeps_the_traceback_of_other_errors(exc, capsys, monkeypatch):
    monkeypatch.delenv('VISIONX_DEBUG', raising=False)
    with pytest.raises(type(exc), match='a bug'):                # propagates: Python prints the traceback
        run_tool(_raiser(exc))
    assert 'error:' not in capsys.readouterr().err


def test_cli_does_not_import_the_engine():
    tree = ast.parse((REPO_ROOT / 'visionx/utils/cli.py').read_text())
    # absolute names; ``from ..engine import x`` in visionx/utils/cli.py means visionx.engine
    imported = ['visionx.' * (node.level == 2) + (node.module or '')
                for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
    assert 'mmengine.config' in imported                           # the walk does see the imports
    assert not [m for m in imported if m.startswith('visionx.engine')], imported


def test_default_runtime_builds_a_visionx_runner_through_the_registry(tmp_path, monkeypatch):
    from mmseg.registry import RUNNERS

    from visionx.engine import VisionXRunner, build_runner
    from visionx.engine.hooks import RNGStateHook
    from mmengine.registry import DefaultScope
    runtime = Config.fromfile(str(REPO_ROOT / 'configs/_base_/default_runtime.py'))
    assert runtime.runner_type == 'visionx.VisionXRunner'
    cfg = load_config(TINY_CFG)
    # mmseg's tools/train.py calls RUNNERS.build(cfg) before any default scope is set
    monkeypatch.setattr(DefaultScope, '_instance_dict', OrderedDict())
    cfg.work_dir = str(tmp_path)
    runner = RUNNERS.build(cfg)                                   # as mmseg's tools/train.py does
    assert type(runner) is VisionXRunner
    assert any(isinstance(h, RNGStateHook) for h in runner.hooks)
    assert type(build_runner(cfg)) is VisionXRunner


def test_plain_iteration_loops_are_configured_as_resumable():
    from mmengine.registry import init_default_scope

    from visionx.engine.loops import ResumableIterBasedTrainLoop
    from visionx.engine.runner import resumable_train_loop_cfg
    init_default_scope('visionx')
    assert resumable_train_loop_cfg(dict(type='IterBasedTrainLoop', max_iters=5, val_interval=2)) == dict(
        type=ResumableIterBasedTrainLoop, max_iters=5, val_interval=2)
    assert resumable_train_loop_cfg(dict(by_epoch=False, max_iters=5)) == dict(
        type=ResumableIterBasedTrainLoop, max_iters=5)
    for unchanged in (dict(by_epoch=True, max_epochs=2), dict(type='EpochBasedTrainLoop', max_epochs=2),
                      dict(type='SelfDistillationLoop', rounds=2, iters_per_round=3)):
        assert resumable_train_loop_cfg(unchanged) is unchanged


def test_dataset_file_checks_raise_user_errors(tmp_path):
    from visionx.datasets.reconstruction.io import load_npz
    from visionx.datasets.topomortar.dataset import TopoMortarDataset
    with pytest.raises(UserFileNotFoundError, match='missing.npz not found'):
        load_npz(tmp_path / 'missing.npz', ('points',))
    (tmp_path / 'bad.npz').write_text('not a zip archive')
    with pytest.raises(DataFormatError, match='bad.npz is not a readable .npz'):
        load_npz(tmp_path / 'bad.npz', ('points',))
    with pytest.raises(ConfigError, match="split must be one of"):
        TopoMortarDataset(data_root=str(tmp_path), split='training')
