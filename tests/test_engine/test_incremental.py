"""IncrementalRunner: a 3-step task in one call, per-step folders and results, exact resume, start at step t."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from tests.conftest import REPO_ROOT
from visionx.datasets.ciss.synthetic import write_voc_layout
from visionx.utils.errors import ConfigError, UserFileNotFoundError

@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Tiny networks: one intra-op thread is ~100x faster than two on a loaded 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


CONFIG = REPO_ROOT / 'configs/ciss/mib_deeplabv3-tiny_1xb8-300it_demo-voc-3-2-2-overlap.py'


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return write_voc_layout(tmp_path_factory.mktemp('voc') / 'VOC2012', list(range(1, 8)), n_train=10, n_val=3,
                            size=32, seed=1)


def make_cfg(data: Path, work_dir: Path, **ciss) -> Config:
    cfg = Config.fromfile(str(CONFIG))
    for key in ('train_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = str(data)
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.dataset.pipeline[2].crop_size = (32, 32)
    cfg.model.data_preprocessor.size = (32, 32)
    cfg.model.backbone.update(stem_channels=8, base_channels=8)
    cfg.model.decode_head.update(in_channels=64, channels=8)
    cfg.train_cfg.max_iters = 2
    cfg.param_scheduler[0].end = 2
    cfg.default_hooks.checkpoint.update(interval=2, max_keep_ckpts=3)
    cfg.default_hooks.logger.interval = 1
    cfg.ciss.later_steps = {'train_cfg.max_iters': 4, 'param_scheduler.0.end': 4,
                            'optim_wrapper.optimizer.lr': 0.005}
    cfg.ciss.update(ciss)
    cfg.work_dir = str(work_dir)
    cfg.launcher = 'none'
    return cfg


def run(cfg: Config):
    from visionx.engine import build_runner
    return build_runner(cfg).train()


def state(path) -> dict:
    return torch.load(path, map_location='cpu')['state_dict']


@pytest.fixture(scope='module')
def full_run(data, tmp_path_factory):
    work = tmp_path_factory.mktemp('full')
    rows = run(make_cfg(data, work))
    return work, rows


def test_three_steps_in_one_call(full_run):
    work, rows = full_run
    assert [r['step'] for r in rows] == [0, 1, 2] and [r['num_seen'] for r in rows] == [4, 6, 8]
    for t, iters in ((0, 2), (1, 4), (2, 4)):
        done = json.loads((work / f'step_{t}' / 'ciss_step.json').read_text())
        assert done['checkpoint'] == str(work / f'step_{t}' / f'iter_{iters}.pth')
    assert rows[0]['metrics']['mIoU_new'] is None and rows[0]['metrics']['hIoU'] is None
    for r in rows[1:]:
        m = r['metrics']
        old, new = m['mIoU_old'], m['mIoU_new']
        assert m['hIoU'] == pytest.approx(0 if old + new == 0 else 2 * old * new / (old + new))
        assert len([k for k in m if k.startswith('IoU.')]) == r['num_seen']
    table = json.loads((work / 'ciss_results.json').read_text())
    assert [s['step'] for s in table['steps']] == [0, 1, 2]
    md = (work / 'ciss_results.md').read_text().splitlines()
    assert md[2].startswith('| step |') and len(md) == 7

    # classifier growth across the checkpoints; the previous model is the previous step's final weights
    s0, s1, s2 = (state(work / f'step_{t}' / f'iter_{i}.pth') for t, i in ((0, 2), (1, 4), (2, 4)))
    assert [s2[f'decode_head.conv_seg.classifiers.{i}.weight'].shape[0] for i in range(3)] == [4, 2, 2]
    for k, v in s0.items():
        assert torch.equal(s1['prev_model.' + k], v), k
    for k, v in s1.items():
        if not k.startswith('prev_model.'):
            assert torch.equal(s2['prev_model.' + k], v), k


def test_resume_inside_a_step_is_exact(full_run, data, tmp_path):
    ref, _ = full_run
    work = tmp_path / 'work'
    shutil.copytree(ref, work)
    step2 = work / 'step_2'
    (step2 / 'ciss_step.json').unlink()
    (step2 / 'iter_4.pth').unlink()
    (step2 / 'last_checkpoint').write_text(str(step2 / 'iter_2.pth'))
    logs_before = sorted(p.name for p in (work / 'step_0').iterdir())
    cfg = make_cfg(data, work)
    cfg.resume = True
    rows = run(cfg)
    assert [r['step'] for r in rows] == [0, 1, 2]
    assert sorted(p.name for p in (work / 'step_0').iterdir()) == logs_before  # done steps are skipped
    a, b = state(ref / 'step_2' / 'iter_4.pth'), state(step2 / 'iter_4.pth')
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], msg=k)


def test_resume_at_the_next_step(full_run, data, tmp_path):
    """Interrupted between steps 1 and 2 (no step_2 folder yet): --resume skips 0 and 1, trains 2 from scratch."""
    ref, _ = full_run
    work = tmp_path / 'work'
    shutil.copytree(ref, work)
    shutil.rmtree(work / 'step_2')
    for name in ('ciss_results.json', 'ciss_results.md'):
        (work / name).unlink()
    cfg = make_cfg(data, work)
    cfg.resume = True
    rows = run(cfg)
    assert [r['step'] for r in rows] == [0, 1, 2]
    assert rows[1]['checkpoint'] == str(ref / 'step_1' / 'iter_4.pth')  # the copied record of the done step
    a, b = state(ref / 'step_2' / 'iter_4.pth'), state(work / 'step_2' / 'iter_4.pth')
    for k in a:
        torch.testing.assert_close(b[k], a[k], msg=k)
    assert len(json.loads((work / 'ciss_results.json').read_text())['steps']) == 3


def test_start_at_step_t_from_a_checkpoint(full_run, data, tmp_path):
    ref, _ = full_run
    rows = run(make_cfg(data, tmp_path / 'w', start_step=2, start_checkpoint=str(ref / 'step_1' / 'iter_4.pth')))
    assert [r['step'] for r in rows] == [2]
    a, b = state(ref / 'step_2' / 'iter_4.pth'), state(tmp_path / 'w' / 'step_2' / 'iter_4.pth')
    for k in a:
        torch.testing.assert_close(b[k], a[k], msg=k)


def test_bad_start_is_an_error_before_anything_is_written(data, tmp_path):
    with pytest.raises(UserFileNotFoundError, match='step-1 checkpoint not found: .*missing.pth'):
        run(make_cfg(data, tmp_path / 'w', start_step=2, start_checkpoint=str(tmp_path / 'missing.pth')))
    with pytest.raises(ConfigError, match='needs ciss.start_checkpoint'):
        run(make_cfg(data, tmp_path / 'w', start_step=1))
    with pytest.raises(ConfigError, match='unknown keys'):
        run(make_cfg(data, tmp_path / 'w', startstep=1))
    # keys the runner sets per step would be overwritten silently: refused
    cfg = make_cfg(data, tmp_path / 'w')
    cfg.model.prev_checkpoint = str(tmp_path / 'mine.pth')
    with pytest.raises(ConfigError, match=r'model.prev_checkpoint=.*mine.pth.*ciss.start_step'):
        run(cfg)
    cfg = make_cfg(data, tmp_path / 'w')
    cfg.test_dataloader.dataset.step = 1
    with pytest.raises(ConfigError, match='the test CISS dataset.s. set step'):
        run(cfg)
    assert not (tmp_path / 'w').exists()


CISS_CONFIGS = sorted((REPO_ROOT / 'configs/ciss').glob('*.py'))


@pytest.mark.parametrize('path', CISS_CONFIGS, ids=[p.name for p in CISS_CONFIGS])
def test_every_step_config_resolves(path, tmp_path):
    """The runner derives every later step's config from the file: step, classes, overrides, {step} keys."""
    from visionx.engine import IncrementalRunner

    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(tmp_path)
    runner = IncrementalRunner(cfg)
    last = runner.task.num_steps - 1
    step_cfg = runner.step_config(last, prev_checkpoint='prev.pth')
    assert step_cfg.model.classes_per_step == runner.task.classes_per_step
    assert step_cfg.model.prev_checkpoint == 'prev.pth'
    assert step_cfg.train_dataloader.dataset.step == last and step_cfg.test_dataloader.dataset.step == last
    assert 'ciss' not in step_cfg and 'runner_type' not in step_cfg
    for key, value in cfg.ciss.get('later_steps', {}).items():
        if key == 'optim_wrapper.paramwise_cfg':
            keys = step_cfg.optim_wrapper.paramwise_cfg.custom_keys
            assert f'decode_head.heads.{last}.' in keys and 'decode_head.heads.{step}.' not in keys
            assert set(keys) == {k.replace('{step}', str(last)) for k in value['custom_keys']}
        elif key != 'param_scheduler':
            node = step_cfg
            for part in key.split('.'):
                node = node[part]
            assert node == value, key
    assert runner.step_config(0, None).model.get('prev_checkpoint') is None


def test_tools_test_evaluates_a_step_checkpoint(full_run, data, tmp_path):
    """tools/test.py on a step_1 checkpoint rebuilds step 1 and reproduces the runner's step-1 metrics."""
    import importlib.util
    ref, rows = full_run
    cfg_file = tmp_path / 'cfg.py'
    cfg = make_cfg(data, ref)
    cfg.dump(str(cfg_file))
    spec = importlib.util.spec_from_file_location('vx_test_tool', REPO_ROOT / 'tools/test.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'm.json'
    assert tool.main([str(cfg_file), str(ref / 'step_1' / 'iter_4.pth'), '--work-dir', str(tmp_path / 'w'),
                      '--out-metrics', str(out)]) == 0
    metrics = json.loads(out.read_text())['metrics']
    for key in ('mIoU_old', 'mIoU_all'):
        assert metrics[key] == pytest.approx(rows[1]['metrics'][key])
    with pytest.raises(ConfigError, match='ciss.test_step'):
        shutil.copy(ref / 'step_1' / 'iter_4.pth', tmp_path / 'elsewhere.pth')
        tool.main([str(cfg_file), str(tmp_path / 'elsewhere.pth'), '--work-dir', str(tmp_path / 'w')])


def test_corrupt_step_record_is_named(data, tmp_path):
    """A hand-edited or truncated step_<t>/step_done.json stops the start with the file's path."""
    from visionx.engine.incremental import STEP_DONE
    from visionx.utils.errors import DataFormatError
    record = tmp_path / 'w' / 'step_0' / STEP_DONE
    record.parent.mkdir(parents=True)
    record.write_text('{"checkpoint": ')  # truncated
    with pytest.raises(DataFormatError, match=f'{record}: not a step record'):
        run(make_cfg(data, tmp_path / 'w', start_step=1))
