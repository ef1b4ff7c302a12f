#!/usr/bin/env python
"""Convert the official BASNet weights (``basnet.pth`` from xuebinqin/BASNet) to a VisionX checkpoint.

Usage:
    python tools/model_converters/basnet_official_to_visionx.py basnet.pth checkpoints/basnet_r34_official.pth

The output is ``{'state_dict': ..., 'meta': {...}}`` for ``configs/basnet/*.py``, ``tools/test.py`` and
``demo/object_cut.py``.  Every official key must map and every VisionX parameter must be filled (checked by
loading the result into a freshly built ``BASNet`` with ``strict=True``, BN ``num_batches_tracked`` buffers,
absent from PyTorch-0.4.0 checkpoints, excepted).  The conversion is
:func:`visionx.models.converters.basnet.convert_file`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from visionx.utils.cli import run_tool  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='official basnet.pth')
    parser.add_argument('dst', help='output VisionX checkpoint (.pth)')
    args = parser.parse_args(argv)
    from visionx.models.converters.basnet import convert_file
    n = convert_file(args.src, args.dst)
    print(f'converted {n} tensors: {args.src} -> {args.dst}')
    return 0


if __name__ == '__main__':
    run_tool(main)
