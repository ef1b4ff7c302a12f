"""AtomicLocalVisBackend: MMEngine's local layout, images written whole (never a truncated PNG)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest


def test_atomic_backend_writes_the_image_and_leaves_no_temporary(tmp_path, monkeypatch):
    from visionx.registry import VISBACKENDS
    backend = VISBACKENDS.build(dict(type='AtomicLocalVisBackend', save_dir=str(tmp_path)))
    img = np.zeros((4, 5, 3), np.uint8)
    img[1, 2] = (255, 0, 0)  # RGB red
    backend.add_image('pred', img, step=3)
    out = tmp_path / 'vis_image' / 'pred_3.png'  # MMEngine's layout: <save_dir>/vis_image/<name>_<step>.png
    back = cv2.imread(str(out))[..., ::-1]  # BGR -> RGB
    assert np.array_equal(back, img)
    assert sorted(p.name for p in out.parent.iterdir()) == ['pred_3.png']

    # a failing encoder leaves neither a partial file nor a temporary behind
    monkeypatch.setattr(cv2, 'imwrite', lambda *a, **k: False)
    with pytest.raises(OSError):
        backend.add_image('broken', img)
    assert sorted(p.name for p in out.parent.iterdir()) == ['pred_3.png']


def test_default_runtime_uses_the_atomic_backend():
    from pathlib import Path

    from mmengine.config import Config
    cfg = Config.fromfile(str(Path(__file__).resolve().parents[2] / 'configs/_base_/default_runtime.py'))
    assert [b['type'] for b in cfg.visualizer.vis_backends] == ['AtomicLocalVisBackend']
