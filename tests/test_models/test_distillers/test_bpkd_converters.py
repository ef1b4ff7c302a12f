"""BPKD checkpoint converters on small state dicts in the released layouts, and kd_extract_student."""
from __future__ import annotations

import copy
import importlib.util

import pytest
import torch
from mmengine.registry import init_default_scope

from tests.conftest import REPO_ROOT
from tests.test_models.test_distillers.test_kd_encoder_decoder import BPKD, STUDENT, TEACHER, teacher_ckpt  # noqa: F401
from visionx.registry import MODELS


def _tool(name):
    path = REPO_ROOT / 'tools' / 'model_converters' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(name, argv, capsys):
    with pytest.raises(SystemExit) as exc:
        from visionx.utils.cli import run_tool
        run_tool(lambda: _tool(name).main([str(a) for a in argv]))
    return exc.value.code, capsys.readouterr()


def _config(tmp_path, model: dict, name='student.py'):
    path = tmp_path / name
    path.write_text(f"default_scope = 'visionx'\nmodel = {model!r}\n")
    return path


def _student_state():
    init_default_scope('visionx')
    torch.manual_seed(3)
    return MODELS.build(copy.deepcopy(STUDENT)).state_dict()


def test_mmseg_0x_student_checkpoint_converts_unchanged(tmp_path, capsys):
    state = _student_state()
    src = tmp_path / 'pspnet_r18_bpkd.pth'
    torch.save({'state_dict': state, 'meta': {'CLASSES': ('a', 'b'), 'mmseg_version': '0.26.0'},
                'optimizer': {'state': {}, 'param_groups': []}}, src)
    code, out = _run('bpkd_official_to_visionx', [src, tmp_path / 'out.pth', '--config',
                                                  _config(tmp_path, STUDENT)], capsys)
    assert code == 0 and 'mmseg-0.x' in out.out
    saved = torch.load(tmp_path / 'out.pth')
    assert saved['meta']['source_layout'] == 'mmseg-0.x' and set(saved['state_dict']) == set(state)
    assert all(torch.equal(saved['state_dict'][k], v) for k, v in state.items())


def test_mmrazor_kd_checkpoint_keeps_the_student_only(tmp_path, capsys):
    state = _student_state()
    kd = {f'architecture.model.{k}': v for k, v in state.items()}
    kd.update({f'distiller.teacher.{k}': v.clone() for k, v in state.items()})
    kd['distiller.losses.loss_edge.weight'] = torch.ones(1)
    src = tmp_path / 'kd.pth'
    torch.save({'state_dict': kd, 'meta': {}}, src)
    code, _ = _run('bpkd_official_to_visionx', [src, tmp_path / 'out.pth', '--config',
                                                _config(tmp_path, STUDENT)], capsys)
    assert code == 0
    saved = torch.load(tmp_path / 'out.pth')
    assert saved['meta']['source_layout'] == 'mmrazor-0.x'
    assert list(saved['state_dict']) == list(state)
    student = MODELS.build(copy.deepcopy(STUDENT))
    student.load_state_dict(saved['state_dict'], strict=True)


def test_bad_inputs_give_one_error_line_and_no_output(tmp_path, capsys):
    dst = tmp_path / 'out.pth'
    code, out = _run('bpkd_official_to_visionx', [tmp_path / 'missing.pth', dst], capsys)
    assert code == 2 and out.err.startswith('error:') and 'missing.pth' in out.err
    other = tmp_path / 'teacher.pth'  # a checkpoint of another model than the config's student
    init_default_scope('visionx')
    torch.save({'state_dict': MODELS.build(copy.deepcopy(TEACHER)).state_dict()}, other)
    code, out = _run('bpkd_official_to_visionx', [other, dst, '--config', _config(tmp_path, STUDENT)], capsys)
    assert code == 2 and 'does not match the model' in out.err and 'teacher.pth' in out.err
    foreign = tmp_path / 'foreign.pth'
    torch.save({'state_dict': {'encoder.weight': torch.ones(1)}}, foreign)
    code, out = _run('bpkd_official_to_visionx', [foreign, dst], capsys)
    assert code == 2 and 'not a BPKD release checkpoint' in out.err
    assert not dst.exists() and not list(tmp_path.glob('.out*'))


def test_kd_extract_student(tmp_path, capsys, teacher_ckpt):  # noqa: F811
    from tests.test_models.test_distillers.test_kd_encoder_decoder import _kd
    model = _kd(teacher_ckpt, save_teacher=True)
    src = tmp_path / 'iter_2.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}, 'message_hub': {}}, src)
    kd_cfg = _config(tmp_path, dict(type='KDEncoderDecoder', student=STUDENT, teacher_cfg=TEACHER,
                                    distill_losses=BPKD), 'kd.py')
    code, out = _run('kd_extract_student', [src, tmp_path / 'student.pth', '--config', kd_cfg], capsys)
    assert code == 0, out.err
    saved = torch.load(tmp_path / 'student.pth')['state_dict']
    expected = model.student.state_dict()
    assert list(saved) == list(expected) and all(torch.equal(saved[k], v) for k, v in expected.items())
    # the official converter points KD checkpoints of VisionX to this tool
    code, out = _run('bpkd_official_to_visionx', [src, tmp_path / 'x.pth'], capsys)
    assert code == 2 and 'kd_extract_student.py' in out.err
    # a plain student checkpoint is not a KD checkpoint
    code, out = _run('kd_extract_student', [tmp_path / 'student.pth', tmp_path / 'y.pth'], capsys)
    assert code == 2 and 'no student.*' in out.err and not (tmp_path / 'y.pth').exists()


def test_train_tool_refuses_a_missing_teacher_checkpoint_before_writing(tmp_path):
    from visionx.utils.errors import UserFileNotFoundError
    train = importlib.util.spec_from_file_location('train_tool', REPO_ROOT / 'tools' / 'train.py')
    mod = importlib.util.module_from_spec(train)
    train.loader.exec_module(mod)
    cfg = REPO_ROOT / 'configs' / 'bpkd' / 'bpkd_pspnet_r18-d8_pspnet_r18-w16-d8_1xb8-300it_demo-bpkd-64x64.py'
    work = tmp_path / 'work'
    with pytest.raises(UserFileNotFoundError, match='model.teacher_checkpoint.*nope.pth'):
        mod.main([str(cfg), '--work-dir', str(work), '--data-root', str(tmp_path),
                  '--cfg-options', f'model.teacher_checkpoint={tmp_path / "nope.pth"}'])
    assert not work.exists()
