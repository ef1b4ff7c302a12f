"""tools/train.py, tools/test.py, tools/benchmark.py: exact resume, metrics JSON, clear user errors."""
import json
import shutil

import torch

from tests.conftest import REPO_ROOT
from .conftest import TINY_CFG, run_tool, run_tool_in_process


def _state(path):
    return torch.load(path, map_location='cpu')['state_dict']


def test_training_lowers_the_loss(tiny_run):
    logs = sorted(tiny_run.glob('*/vis_data/scalars.json'))
    losses = [json.loads(line)['loss'] for line in logs[-1].read_text().splitlines()
              if '"loss"' in line]
    assert len(losses) == 8
    assert losses[-1] < 0.85 * losses[0]


def test_resume_reproduces_uninterrupted_run(tmp_path, tiny_run, tiny_data):
    # The state a run killed between iterations 4 and 8 leaves behind: iter_4.pth + last_checkpoint.
    work_dir = tmp_path / 'interrupted'
    work_dir.mkdir()
    shutil.copy(tiny_run / 'iter_4.pth', work_dir / 'iter_4.pth')
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_4.pth'))
    proc = run_tool('tools/train.py', str(TINY_CFG), '--work-dir', str(work_dir), '--resume',
                    '--cfg-options', f'train_dataloader.dataset.data_root={tiny_data}')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'resumed epoch: 0, iter: 4' in proc.stdout + proc.stderr
    resumed, reference = _state(work_dir / 'iter_8.pth'), _state(tiny_run / 'iter_8.pth')
    assert resumed.keys() == reference.keys()
    for key in reference:
        assert torch.equal(resumed[key], reference[key]), key
    # and training did move the weights between the two checkpoints
    start = _state(tiny_run / 'iter_4.pth')
    assert any(not torch.equal(start[k], reference[k]) for k in reference)


def test_resume_from_explicit_checkpoint(tmp_path, tiny_run, tiny_data):
    proc = run_tool('tools/train.py', str(TINY_CFG), '--work-dir', str(tmp_path / 'explicit'),
                    '--resume', str(tiny_run / 'iter_4.pth'), '--data-root', str(tiny_data))
    assert proc.returncode == 0, proc.stderr[-3000:]
    resumed, reference = _state(tmp_path / 'explicit' / 'iter_8.pth'), _state(tiny_run / 'iter_8.pth')
    assert all(torch.equal(resumed[k], reference[k]) for k in reference)


def test_test_tool_writes_metrics_json(tmp_path, tiny_run, tiny_data):
    out = tmp_path / 'res' / 'metrics.json'
    show = tmp_path / 'show'
    proc = run_tool('tools/test.py', str(TINY_CFG), str(tiny_run / 'iter_8.pth'), '--work-dir',
                    str(tmp_path / 'wd'), '--out-metrics', str(out), '--show-dir', str(show),
                    '--cfg-options', f'test_dataloader.dataset.data_root={tiny_data}',
                    # mmseg's SegVisualizationHook reads runner.iter, which builds the train loop
                    f'train_dataloader.dataset.data_root={tiny_data}')
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert 0 <= result['metrics']['mIoU'] <= 100
    assert len(list(show.rglob('*.png'))) == 8  # one visualisation per test image


def _assert_user_error(proc, *needles):
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith('error:')]
    assert len(line) == 1, proc.stderr[-2000:]
    for needle in needles:
        assert needle in line[0], line[0]


def test_missing_config(tmp_path):
    proc = run_tool('tools/train.py', 'configs/nope/missing.py', '--work-dir', str(tmp_path / 'w'))
    _assert_user_error(proc, 'config file not found', 'configs/nope/missing.py')
    assert not (tmp_path / 'w').exists()


def test_unknown_config_key_is_named_with_suggestion(tmp_path, tiny_data, capsys):
    proc = run_tool_in_process('tools/train.py', str(TINY_CFG), '--work-dir', str(tmp_path / 'w'),
                               '--cfg-options', 'optim_wrapper.optimizer.lrr=0.1', capsys=capsys)
    _assert_user_error(proc, "'optim_wrapper.optimizer.lrr'", "did you mean 'lr'")
    assert not (tmp_path / 'w').exists()


def test_missing_data_root(tmp_path, capsys):
    proc = run_tool_in_process('tools/train.py', str(TINY_CFG), '--work-dir', str(tmp_path / 'w'),
                               '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path / "no_data"}',
                               capsys=capsys)
    _assert_user_error(proc, 'data_root', 'no_data', 'does not exist')
    assert not (tmp_path / 'w').exists()


def test_checkpoint_of_another_model(tmp_path, tiny_data, capsys):
    ckpt = tmp_path / 'other.pth'
    torch.save({'state_dict': torch.nn.Linear(3, 2).state_dict()}, ckpt)
    proc = run_tool_in_process('tools/test.py', str(TINY_CFG), str(ckpt), '--work-dir', str(tmp_path / 'w'),
                               '--cfg-options', f'test_dataloader.dataset.data_root={tiny_data}', capsys=capsys)
    _assert_user_error(proc, 'does not match model EncoderDecoder', 'keys missing')
    assert not (tmp_path / 'w').exists()


def test_amp_on_cpu_is_a_clear_error(tmp_path, tiny_data, capsys):
    if torch.cuda.is_available():
        return
    proc = run_tool_in_process('tools/train.py', str(TINY_CFG), '--amp', '--work-dir', str(tmp_path / 'w'),
                               capsys=capsys)
    _assert_user_error(proc, '--amp needs a CUDA GPU')


def test_benchmark_tool_reports_json(tmp_path, tiny_data):
    out = tmp_path / 'bench.json'
    proc = run_tool('tools/benchmark.py', str(TINY_CFG), '--mode', 'train', '--iters', '3',
                    '--warmup', '1', '--out', str(out), '--cfg-options',
                    f'train_dataloader.dataset.data_root={tiny_data}')
    assert proc.returncode == 0, proc.stderr[-3000:]
    (row,) = json.loads(out.read_text())
    assert row['iters'] == 3 and row['unit'] == 'samples/s' and row['throughput'] > 0
    assert row['latency_p90_s'] >= row['latency_p50_s'] > 0
    assert row['peak_mem_mb'] > 50  # resident set of a process with torch loaded
    assert 'latency_p50_s' in proc.stdout and row['case'] in proc.stdout


def test_test_tool_gives_file_writing_metrics_the_work_dir():
    import importlib.util

    from mmengine.config import Config
    spec = importlib.util.spec_from_file_location('vx_test_tool', REPO_ROOT / 'tools' / 'test.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cfg = Config(dict(work_dir='/tmp/wd', test_evaluator=[
        dict(type='MeshReconstructionMetric'), dict(type='MeshReconstructionMetric', out_dir='/x'),
        dict(type='IoUMetric')]))
    tool.default_metric_out_dirs(cfg)
    assert cfg.test_evaluator[0]['out_dir'] == '/tmp/wd'   # unset -> work dir (per-class CSV lands there)
    assert cfg.test_evaluator[1]['out_dir'] == '/x'        # explicit value kept
    assert 'out_dir' not in cfg.test_evaluator[2]          # metrics without the argument untouched


def test_test_tool_hands_precision_to_loops_that_run_the_model_themselves():
    """RePRI's episodic loop never calls test_step (which --precision wraps): tools/test.py gives it the
    precision instead; a standard loop's config is left alone."""
    import importlib.util

    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    spec = importlib.util.spec_from_file_location('vx_test_tool_precision', REPO_ROOT / 'tools' / 'test.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    init_default_scope('visionx')
    cfg = Config(dict(test_cfg=dict(type='RePRITestLoop', batch_size_val=4)))
    assert tool.hand_precision_to_loop(cfg, 'bf16') and cfg.test_cfg.precision == 'bf16'
    cfg = Config(dict(test_cfg=dict(type='TestLoop')))
    assert not tool.hand_precision_to_loop(cfg, 'bf16') and 'precision' not in cfg.test_cfg


def test_amp_marks_each_network_of_a_per_network_optimizer():
    """--amp on TraCoCo's per-network optimizer (constructor + net1 / net2) marks net1 and net2, which the
    co-training constructor accepts; a single-network config gets the top-level wrapper."""
    import importlib.util

    from mmengine.config import Config

    from visionx.engine.optimizers.co_training import CoTrainingOptimWrapperConstructor
    spec = importlib.util.spec_from_file_location('vx_train_tool_amp', REPO_ROOT / 'tools' / 'train.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cfg = Config.fromfile(str(REPO_ROOT / 'configs/tracoco/tracoco_vnet-tiny_1xb4-150it_demo-4lab-32x32x32.py'))
    tool.apply_amp(cfg)
    wrapper = cfg.optim_wrapper.to_dict()
    assert 'type' not in wrapper and 'loss_scale' not in wrapper
    for net in ('net1', 'net2'):
        assert wrapper[net]['type'] == 'AmpOptimWrapper' and wrapper[net]['loss_scale'] == 'dynamic'
    CoTrainingOptimWrapperConstructor({k: v for k, v in wrapper.items() if k != 'constructor'})
    cfg = Config.fromfile(str(TINY_CFG))
    tool.apply_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.optim_wrapper.loss_scale == 'dynamic'


def test_co_training_constructor_refuses_non_config_entries():
    import pytest

    from visionx.engine.optimizers.co_training import CoTrainingOptimWrapperConstructor
    with pytest.raises(ValueError, match="'type': 'AmpOptimWrapper'"):
        CoTrainingOptimWrapperConstructor(dict(net1=dict(optimizer=dict(type='SGD', lr=0.1)), type='AmpOptimWrapper'))


def test_auto_scale_lr_takes_the_base_batch_from_the_config_name(tmp_path):
    """--auto-scale-lr: an explicit auto_scale_lr.base_batch_size wins; otherwise <GPUs>xb<batch> of the name
    (2xb16 -> 32); a name without it is a user error."""
    import importlib.util

    import pytest
    from mmengine.config import Config

    from visionx.utils import ConfigError
    spec = importlib.util.spec_from_file_location('vx_train_tool_scale', REPO_ROOT / 'tools' / 'train.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cfg = Config(dict())
    tool.enable_auto_scale_lr(cfg, 'configs/gridformer/gridformer_3plane64_2xb16-stage1-1501e_shapenet-3k.py')
    assert cfg.auto_scale_lr == dict(base_batch_size=32, enable=True)
    cfg = Config(dict(auto_scale_lr=dict(base_batch_size=8)))
    tool.enable_auto_scale_lr(cfg, 'configs/x/y_4xb4-1k_z.py')
    assert cfg.auto_scale_lr == dict(base_batch_size=8, enable=True)
    with pytest.raises(ConfigError, match='no auto_scale_lr.base_batch_size'):
        tool.enable_auto_scale_lr(Config(dict()), 'configs/x/plain_config.py')


def test_co_training_constructor_names_the_network_of_a_bad_entry():
    import pytest

    from visionx.engine.optimizers.co_training import CoTrainingOptimWrapperConstructor
    from visionx.utils import ConfigError
    model = torch.nn.Module()
    model.net1, model.net2 = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    good = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))
    with pytest.raises(ConfigError, match='optim_wrapper.net2: '):
        CoTrainingOptimWrapperConstructor(dict(net1=good, net2=dict(type='OptimWrapper', optimiser=dict(type='SGD'))))(model)
