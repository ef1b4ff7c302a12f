"""Shared fixtures: the demo datasets (small variants) generated once per test session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import visionx  # noqa: F401  (registers the safe globals that VisionX checkpoints need under torch.load)

# Keep the suite deterministic and polite on 2-core CI machines.
torch.set_num_threads(int(os.environ.get('VISIONX_TEST_THREADS', '2')))

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory) -> Path:
    """A folder holding every registered demo dataset (``small=True``) under ``<root>/<method>``."""
    from visionx.datasets.demo_data import make_demo_data
    root = tmp_path_factory.mktemp('demo')
    make_demo_data(root, small=True, seed=0)
    return root


@pytest.fixture(scope='session')
def official_root(tmp_path_factory) -> Path:
    """A stand-in for ``data/``: every official dataset layout the configs read, with tiny synthetic data."""
    from visionx.datasets.demo_data import make_official_layouts
    return make_official_layouts(tmp_path_factory.mktemp('official'))
