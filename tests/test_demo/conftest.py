"""Helpers for the demo-tool tests: run a tool's ``main`` as its command line does, and foreign checkpoints."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Callable

import pytest
import torch
from mmengine.config import Config

from tests.conftest import REPO_ROOT

TRACOCO_TINY = REPO_ROOT / 'configs/tracoco/tracoco_vnet-tiny_1xb4-150it_demo-4lab-32x32x32.py'
GRIDFORMER_TINY = REPO_ROOT / 'configs/gridformer/gridformer_3plane32-c8_1xb4-400it_synshapes-512.py'


def load_script(name: str) -> ModuleType:
    """Import ``demo/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f'demo_{name}', REPO_ROOT / 'demo' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def run_cli(capsys) -> Callable[..., tuple[int, str, str]]:
    """Run ``module.main(argv)`` under :func:`visionx.utils.cli.run_tool`, as ``python demo/X.py argv`` does.

    Returns:
        ``(exit status, stdout, stderr)``.
    """
    from visionx.utils.cli import run_tool

    def run(module: ModuleType, argv: list) -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            run_tool(lambda: module.main([str(a) for a in argv]))
        out, err = capsys.readouterr()
        return exc.value.code, out, err
    return run


def save_checkpoint(path: Path, model: torch.nn.Module, config: Path | None) -> Path:
    """Save ``model`` as tools/train.py (MMEngine) does: ``state_dict`` plus ``meta['cfg']`` (the config's
    ``pretty_text``) when ``config`` is given."""
    ckpt = {'state_dict': model.state_dict()}
    if config is not None:
        ckpt['meta'] = {'cfg': Config.fromfile(str(config)).pretty_text}
    torch.save(ckpt, path)
    return path


@pytest.fixture(scope='session')
def foreign_checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Checkpoints none of the demos can run: a bare ``nn.Linear`` state dict, and a tiny TraCoCo and a tiny
    GridFormer checkpoint (with the config stored in ``meta`` as tools/train.py writes it)."""
    from mmengine.registry import init_default_scope

    from visionx.registry import MODELS
    init_default_scope('visionx')
    root = tmp_path_factory.mktemp('foreign_ckpts')
    torch.manual_seed(0)
    linear = root / 'linear.pth'
    torch.save(torch.nn.Linear(3, 2).state_dict(), linear)
    tracoco = save_checkpoint(root / 'tracoco.pth', MODELS.build(Config.fromfile(str(TRACOCO_TINY)).model),
                              TRACOCO_TINY)
    gridformer = save_checkpoint(root / 'gridformer.pth',
                                 MODELS.build(Config.fromfile(str(GRIDFORMER_TINY)).model), GRIDFORMER_TINY)
    return dict(linear=linear, tracoco=tracoco, gridformer=gridformer)
