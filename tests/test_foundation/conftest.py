"""Fixtures for the foundation tests: the tiny segmentation config, its data and a trained run."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.fixtures.tiny_data import write_tiny_seg

TINY_CFG = REPO_ROOT / 'tests' / 'fixtures' / 'tiny_seg.py'


def run_tool(*args: str, cwd: Path | None = None, timeout: int = 300,
             env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python <args>`` from the repository root and capture its output."""
    full_env = {**os.environ, 'OMP_NUM_THREADS': '1', **(env or {})}
    full_env.pop('VISIONX_DEBUG', None)
    return subprocess.run([sys.executable, *args], cwd=cwd or REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout, env=full_env)


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory) -> Path:
    return write_tiny_seg(tmp_path_factory.mktemp('tiny_seg'))


@pytest.fixture(scope='session')
def tiny_run(tmp_path_factory, tiny_data) -> Path:
    """An uninterrupted 8-iteration training run (checkpoints at 4 and 8); returns its work dir."""
    work_dir = tmp_path_factory.mktemp('tiny_run')
    proc = run_tool('tools/train.py', str(TINY_CFG), '--work-dir', str(work_dir), '--cfg-options',
                    f'train_dataloader.dataset.data_root={tiny_data}')
    assert proc.returncode == 0, proc.stderr[-3000:]
    return work_dir


def run_tool_in_process(script: str, *args: str, capsys) -> subprocess.CompletedProcess:
    """Run ``tools/<script>``'s ``main`` in this process through :func:`visionx.utils.cli.run_tool` (the
    same error handling as the command line: exit status 2 and one ``error:`` line for user errors) and
    return what a subprocess would: its exit status and captured output.  For checks that end before a
    runner is built; a fresh interpreter per check costs ~5 s of imports."""
    import importlib.util

    from visionx.utils.cli import run_tool
    path = REPO_ROOT / script
    spec = importlib.util.spec_from_file_location(f'vx_inproc_{path.stem}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    capsys.readouterr()
    old = os.environ.pop('VISIONX_DEBUG', None)
    try:
        run_tool(lambda: module.main(list(args)))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        if old is not None:
            os.environ['VISIONX_DEBUG'] = old
    out = capsys.readouterr()
    return subprocess.CompletedProcess([script, *args], code, out.out, out.err)
