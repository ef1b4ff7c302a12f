"""The BASNet CPU demo's synthetic data are reproducible: the same seed writes byte-identical files.

The demo numbers in ``configs/basnet/README.md`` are only meaningful if ``make demo`` gives the same
checkpoint on every fresh run (same machine, same thread count); this is the data half of that.  The
training half (seeded crops in the main process, ``deterministic=True``) was checked with two full demo
runs (bit-identical weights); a Runner-level check costs over a minute on 2 shared cores, too slow here.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from visionx.datasets.salient.synthetic import make_demo


def _file_digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file()}


def test_synthetic_data_is_identical_across_generations(tmp_path):
    for name, seed in (('a', 0), ('b', 0), ('c', 1)):
        make_demo(tmp_path / name, seed=seed, small=True)
    a, b, c = (_file_digests(tmp_path / name) for name in 'abc')
    assert len(a) == 2 * (8 + 4)  # small: 8 train + 4 test images, each with a mask
    assert a == b
    assert a.keys() == c.keys() and a != c  # the seed is what fixes the files
