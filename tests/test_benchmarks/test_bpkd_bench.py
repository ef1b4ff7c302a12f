"""The bpkd_train_step benchmark case: three rows and the cost split of the distillation step."""
from types import SimpleNamespace

import pytest

from visionx.benchmarks import load_cases



def test_bpkd_train_step_rows_and_split(tmp_path):
    from tests.test_models.test_distillers.test_kd_encoder_decoder import BPKD, STUDENT, TEACHER
    model = dict(type='KDEncoderDecoder', student=STUDENT, teacher_cfg=TEACHER, distill_losses=BPKD)
    cfg = tmp_path / 'kd.py'
    cfg.write_text(f"default_scope = 'visionx'\nmodel = {model!r}\n")
    args = SimpleNamespace(cfg_options=dict(config=str(cfg)), batch_size=2, device='cpu', iters=1, warmup=0)
    rows = load_cases()['bpkd_train_step'](args)
    assert [r.case.split('/')[1] for r in rows] == [
        'student', 'student+teacher', 'student+teacher+BPKDEdgeLoss+BPKDBodyLoss']
    assert all(r.latencies_s[0] > 0 and r.extra['size'] == [32, 32] and r.extra['batch'] == 2 for r in rows)
    extra = rows[2].extra
    t = [r.latencies_s[0] for r in rows]
    assert extra['teacher_forward_s'] == pytest.approx(t[1] - t[0], abs=1e-4)
    assert extra['distill_losses_s'] == pytest.approx(t[2] - t[1], abs=1e-4)


def test_bpkd_train_step_refuses_a_plain_config():
    args = SimpleNamespace(cfg_options=dict(config='configs/bpkd/pspnet_r18-w16-d8_1xb8-300it_demo-bpkd-64x64.py'),
                           batch_size=1, device='cpu', iters=1, warmup=0)
    with pytest.raises(ValueError, match='KDEncoderDecoder'):
        load_cases()['bpkd_train_step'](args)
