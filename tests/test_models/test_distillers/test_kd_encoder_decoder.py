"""KDEncoderDecoder: frozen teacher, losses of both kinds, resolution mismatch, checkpoints, exact resume."""
from __future__ import annotations

import copy
import shutil

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.models.utils import resize
from mmseg.structures import SegDataSample
from mmengine.structures import PixelData

from tests.conftest import REPO_ROOT
from tests.fixtures.tiny_data import write_tiny_seg
from visionx.models.losses.bpkd import bpkd_body_loss, bpkd_edge_loss, edge_body_masks
from visionx.registry import MODELS
from visionx.utils.errors import CheckpointMismatchError, ConfigError, UserFileNotFoundError

PRE = dict(type='SegDataPreProcessor', mean=[127.5] * 3, std=[64.0] * 3, bgr_to_rgb=True, pad_val=0,
           seg_pad_val=255, size=(32, 32))


def _segmentor(base: int, strides, num_classes: int = 2, aux: bool = False) -> dict:
    """A two-stage ResNet-18 with an FCN head: output stride 4 * strides[1]."""
    bn = dict(type='BN', requires_grad=True)
    cfg = dict(
        type='EncoderDecoder', data_preprocessor=PRE,
        backbone=dict(type='ResNet', depth=18, num_stages=2, out_indices=(0, 1), stem_channels=8,
                      base_channels=base, strides=strides, dilations=(1, 1), norm_cfg=bn),
        decode_head=dict(type='FCNHead', in_channels=base * 2, in_index=1, channels=8, num_convs=1,
                         concat_input=False, num_classes=num_classes, norm_cfg=bn, align_corners=False,
                         loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
        train_cfg=dict(), test_cfg=dict(mode='whole'))
    if aux:
        cfg['auxiliary_head'] = dict(type='FCNHead', in_channels=base, in_index=0, channels=4, num_convs=1,
                                     concat_input=False, num_classes=num_classes, align_corners=False,
                                     loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4))
    return cfg


TEACHER = _segmentor(8, (1, 1))            # 1/4 logits
STUDENT = _segmentor(4, (1, 2), aux=True)  # 1/8 logits
BPKD = [dict(type='BPKDEdgeLoss', kernel_size=3), dict(type='BPKDBodyLoss', kernel_size=3)]


@pytest.fixture()
def teacher_ckpt(tmp_path):
    init_default_scope('visionx')
    torch.manual_seed(1)
    teacher = MODELS.build(copy.deepcopy(TEACHER))
    for m in teacher.modules():  # non-trivial BN statistics, to see that training does not touch them
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / 'teacher.pth'
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, path)
    return path


def _kd(teacher_ckpt, **kw) -> torch.nn.Module:
    init_default_scope('visionx')
    cfg = dict(type='KDEncoderDecoder', student=copy.deepcopy(STUDENT), teacher_cfg=copy.deepcopy(TEACHER),
               teacher_checkpoint=str(teacher_ckpt), distill_losses=copy.deepcopy(BPKD))
    cfg.update(kw)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _batch(n: int = 2, size: int = 32):
    torch.manual_seed(0)
    samples = []
    for i in range(n):
        label = torch.zeros(1, size, size, dtype=torch.long)
        label[:, 8 + i:20, 6:24] = 1
        label[:, :, 30:] = 255
        ds = SegDataSample(gt_sem_seg=PixelData(data=label))
        ds.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size)))
        samples.append(ds)
    return dict(inputs=[torch.randint(0, 255, (3, size, size), dtype=torch.uint8) for _ in range(n)],
                data_samples=samples)


def test_training_updates_the_student_only(teacher_ckpt):
    model = _kd(teacher_ckpt)
    teacher = model.teacher
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    student_before = {k: v.clone() for k, v in model.student.state_dict().items()}
    optim = build_optim_wrapper(model, dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1)))
    in_optim = {id(p) for g in optim.optimizer.param_groups for p in g['params']}
    assert not in_optim & {id(p) for p in teacher.parameters()}
    assert in_optim == {id(p) for p in model.student.parameters()}
    model.train()
    assert not teacher.training and model.student.training
    for _ in range(1):
        losses = model.train_step(_batch(), optim)
    assert {'decode.loss_ce', 'aux.loss_ce', 'distill.loss_bpkd_edge', 'distill.loss_bpkd_body'} <= set(losses)
    assert all(p.grad is None for p in teacher.parameters())
    for k, v in teacher.state_dict().items():  # weights and BN running statistics
        assert torch.equal(v, before[k]), k
    assert any(not torch.equal(v, student_before[k]) for k, v in model.student.state_dict().items())


def test_short_training_lowers_the_loss(teacher_ckpt):
    """Fifteen SGD steps on one batch lower the student's summed loss (task + BPKD edge + body)."""
    model = _kd(teacher_ckpt)
    optim = build_optim_wrapper(model, dict(type='OptimWrapper',
                                            optimizer=dict(type='SGD', lr=0.05, momentum=0.9)))
    model.train()
    batch, totals = _batch(), []
    for _ in range(15):
        losses = model.train_step(batch, optim)
        totals.append(float(losses['loss']))
    assert totals[-1] < 0.85 * totals[0], totals


def test_distill_losses_on_resized_teacher_logits(teacher_ckpt):
    model = _kd(teacher_ckpt).eval()
    data = model.data_preprocessor(_batch(), training=True)
    inputs, samples = data['inputs'], data['data_samples']
    losses = model.loss(inputs, samples)
    s = model.student.decode_head.forward(model.student.extract_feat(inputs))
    with torch.no_grad():
        t = model.teacher.decode_head.forward(model.teacher.extract_feat(inputs))
    assert s.shape[-2:] == (4, 4) and t.shape[-2:] == (8, 8)  # 1/8 student, 1/4 teacher
    t = resize(t, size=(4, 4), mode='bilinear', align_corners=False)
    label = torch.stack([d.gt_sem_seg.data for d in samples]).squeeze(1)
    edge, body = edge_body_masks(label, 2, (4, 4), kernel_size=3)
    assert losses['distill.loss_bpkd_edge'].item() == pytest.approx(
        50 * bpkd_edge_loss(s, t, edge).mean().item(), rel=1e-5)
    assert losses['distill.loss_bpkd_body'].item() == pytest.approx(
        20 * bpkd_body_loss(s, t, body).mean().item(), rel=1e-5)


def test_checkpoints_leave_the_teacher_out_unless_asked(teacher_ckpt):
    model = _kd(teacher_ckpt)
    keys = set(model.state_dict())
    assert not any(k.startswith('teacher.') for k in keys) and 'teacher_digest' in keys
    assert all(k.startswith(('student.', 'distill_losses.', 'teacher_digest', 'data_preprocessor.')) for k in keys)
    with_teacher = _kd(teacher_ckpt, save_teacher=True)
    state = with_teacher.state_dict()
    assert set(state) - keys == {f'teacher.{k}' for k in model.teacher.state_dict()}
    # loading restores a teacher from the checkpoint into a fresh model
    fresh = MODELS.build(dict(type='KDEncoderDecoder', student=copy.deepcopy(STUDENT),
                              teacher_cfg=copy.deepcopy(TEACHER), distill_losses=copy.deepcopy(BPKD)))
    fresh.load_state_dict(state)
    for k, v in with_teacher.teacher.state_dict().items():
        assert torch.equal(fresh.teacher.state_dict()[k], v), k


def test_test_mode_runs_the_student_only(teacher_ckpt):
    model = _kd(teacher_ckpt).eval()
    data = model.data_preprocessor(_batch(1), training=False)

    def boom(*args, **kwargs):
        raise AssertionError('the teacher ran at test time')
    model.teacher.extract_feat = boom
    with torch.no_grad():
        expected = model.student.predict(data['inputs'], copy.deepcopy(data['data_samples']))
        out = model.predict(data['inputs'], data['data_samples'])
        assert torch.equal(out[0].seg_logits.data, expected[0].seg_logits.data)
        assert torch.equal(model(data['inputs'], mode='tensor'), model.student._forward(data['inputs']))


def test_user_errors(teacher_ckpt, tmp_path):
    model = MODELS.build(dict(type='KDEncoderDecoder', student=copy.deepcopy(STUDENT), teacher_cfg=TEACHER,
                              teacher_checkpoint=str(tmp_path / 'nope.pth'), distill_losses=BPKD))
    with pytest.raises(UserFileNotFoundError, match='nope.pth'):
        model.init_weights()
    with pytest.raises(ConfigError, match='3 classes, the student 2'):
        MODELS.build(dict(type='KDEncoderDecoder', student=STUDENT, distill_losses=BPKD,
                          teacher_cfg=_segmentor(8, (1, 1), num_classes=3)))
    with pytest.raises(ConfigError, match='at least one'):
        MODELS.build(dict(type='KDEncoderDecoder', student=STUDENT, teacher_cfg=TEACHER))
    other = tmp_path / 'student.pth'  # a checkpoint of another model (the student) as teacher
    torch.save({'state_dict': MODELS.build(copy.deepcopy(STUDENT)).state_dict()}, other)
    with pytest.raises(CheckpointMismatchError, match='student.pth'):
        _kd(other)
    with pytest.raises(UserFileNotFoundError, match='missing_teacher.py'):
        MODELS.build(dict(type='KDEncoderDecoder', student=STUDENT, teacher_cfg='missing_teacher.py',
                          distill_losses=BPKD))
    # resuming with a different teacher than the run started with
    state = _kd(teacher_ckpt).state_dict()
    torch.manual_seed(5)
    changed = tmp_path / 'other_teacher.pth'
    torch.save({'state_dict': MODELS.build(copy.deepcopy(TEACHER)).state_dict()}, changed)
    with pytest.raises(CheckpointMismatchError, match='not the teacher'):
        _kd(changed).load_state_dict(state)


def _runner_cfg(data, work_dir, teacher_ckpt, max_iters=2):
    cfg = Config.fromfile(str(REPO_ROOT / 'tests' / 'fixtures' / 'tiny_seg.py'))
    cfg.model = dict(type='KDEncoderDecoder', student=copy.deepcopy(STUDENT), teacher_cfg=copy.deepcopy(TEACHER),
                     teacher_checkpoint=str(teacher_ckpt), distill_losses=copy.deepcopy(BPKD))
    cfg.train_dataloader.dataset.data_root = str(data)
    cfg.test_dataloader.dataset.data_root = str(data)
    cfg.train_cfg.max_iters = max_iters
    cfg.param_scheduler[0]['end'] = max_iters
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.pop('visualization')
    cfg.custom_hooks = []
    cfg.work_dir = str(work_dir)
    return cfg


def test_resume_is_exact(teacher_ckpt, tmp_path, monkeypatch):
    from visionx.engine import VisionXRunner
    # the runner logs and dumps the config through yapf, which takes tens of seconds for two nested models
    monkeypatch.setattr(Config, 'pretty_text', property(lambda self: repr(self.to_dict())))
    data = write_tiny_seg(tmp_path / 'data', n=4)
    full = VisionXRunner.from_cfg(_runner_cfg(data, tmp_path / 'full', teacher_ckpt))
    full.train()
    (tmp_path / 'resumed').mkdir()
    shutil.copy(tmp_path / 'full' / 'iter_1.pth', tmp_path / 'resumed' / 'iter_1.pth')
    cfg = _runner_cfg(data, tmp_path / 'resumed', teacher_ckpt)
    cfg.resume, cfg.load_from = True, str(tmp_path / 'resumed' / 'iter_1.pth')
    resumed = VisionXRunner.from_cfg(cfg)
    resumed.train()
    expected = torch.load(tmp_path / 'full' / 'iter_2.pth')['state_dict']
    assert not any(k.startswith('teacher.') for k in expected)
    got = resumed.model.state_dict()
    for k, v in expected.items():
        assert torch.equal(v, got[k]), k
    mid = torch.load(tmp_path / 'full' / 'iter_1.pth')['state_dict']
    assert any(not torch.equal(v, expected[k]) for k, v in mid.items() if v.is_floating_point())


KD_CONFIGS = sorted(p for p in (REPO_ROOT / 'configs' / 'bpkd').glob('*.py') if p.name.startswith(('bpkd_', 'cwd_')))


def test_kd_configs_keep_the_students_preprocessor_and_a_teacher_config():
    """The runner merges the top-level ``data_preprocessor`` into a model dict without one: every KD config
    names the student's (with its crop ``size``) and points ``teacher_cfg`` at an existing config."""
    assert len(KD_CONFIGS) == 26  # 4 pairs x 3 datasets x (CWD, BPKD) + the two demo runs
    for path in KD_CONFIGS:
        cfg = Config.fromfile(str(path))
        assert cfg.model.type == 'KDEncoderDecoder'
        assert cfg.model.data_preprocessor == cfg.model.student.data_preprocessor, path.name
        assert cfg.model.data_preprocessor.get('size'), path.name
        assert (REPO_ROOT / cfg.model.teacher_cfg).is_file(), path.name
        teacher = Config.fromfile(str(REPO_ROOT / cfg.model.teacher_cfg)).model
        assert teacher.decode_head.num_classes == cfg.model.student.decode_head.num_classes, path.name
