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
