"""tools/test.py --precision: fp32 is the model's own output bit for bit, bf16 the same masks within tolerance,
fp16 on CPU one error line before anything is built."""
from __future__ import annotations

import importlib.util

import cv2
import numpy as np
import pytest
import torch

from tests.conftest import REPO_ROOT
from tests.test_tools.test_test_outputs import TOPOMORTAR_CFG, _model_and_cfg, _predict

OPTIONS = {'model.network.num_levels': 4, 'model.network.filters': [4, 8, 16, 16],
           'model.network.deep_supr_num': 2, 'test_dataloader.dataset.indices': 1}


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('vx_test_tool_precision', REPO_ROOT / 'tools' / 'test.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _masks(tool, tmp_path, precision: str, ckpt, root) -> np.ndarray:
    out = tmp_path / precision
    argv = [str(REPO_ROOT / TOPOMORTAR_CFG), str(ckpt), '--work-dir', str(tmp_path / f'wd_{precision}'),
            '--data-root', str(root), '--out', str(out), '--precision', precision,
            '--cfg-options', *(f'{k}={v}' for k, v in OPTIONS.items())]
    assert tool.main(argv) == 0
    (png,) = sorted(out.glob('*.png'))
    return cv2.imread(str(png), cv2.IMREAD_UNCHANGED)


def test_fp32_bit_identical_and_bf16_same_masks(tool, demo_root, tmp_path):
    root = demo_root / 'topomortar'
    model, cfg = _model_and_cfg(TOPOMORTAR_CFG, OPTIONS, root)
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    pred, _ = _predict(model, cfg, 0)  # fp32, no hooks, no flag
    expected = pred.pred_sem_seg.data[0].numpy().astype(np.uint8) * 255
    np.testing.assert_array_equal(_masks(tool, tmp_path, 'fp32', ckpt, root), expected)

    bf16 = _masks(tool, tmp_path, 'bf16', ckpt, root)
    # stated tolerance: a pixel may flip only where the fp32 two-class logit margin is below 5% of the
    # largest absolute logit (bf16 keeps 8 significant bits; the tiny DynUNet has 9 conv layers per path)
    logits = pred.seg_logits.data.float()
    margin = (logits[1] - logits[0]).abs().numpy()
    flipped = bf16 != expected
    assert not flipped[margin > 0.05 * logits.abs().max().item()].any()


def test_fp16_on_cpu_is_one_error_line(tool, tmp_path, capsys, monkeypatch):
    from visionx.registry import MODELS
    from visionx.utils.cli import run_tool
    monkeypatch.setattr('mmengine.device.get_device', lambda: 'cpu')
    monkeypatch.setattr(MODELS, 'build', lambda *a, **k: pytest.fail('a model was built'))
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': {}}, ckpt)
    with pytest.raises(SystemExit) as exc:
        run_tool(lambda: tool.main([str(REPO_ROOT / TOPOMORTAR_CFG), str(ckpt), '--precision', 'fp16',
                                    '--work-dir', str(tmp_path / 'wd')]))
    assert exc.value.code == 2
    assert capsys.readouterr().err.startswith('error: --precision fp16 needs a CUDA device')
