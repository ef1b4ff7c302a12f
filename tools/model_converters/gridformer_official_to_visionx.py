#!/usr/bin/env python
"""Convert an official GridFormer checkpoint (list17/GridFormer ``model.pt`` / ``model_best.pt``) to VisionX.

Usage::

    python tools/model_converters/gridformer_official_to_visionx.py model_best.pt gridformer_shapenet.pth \
        [--config configs/gridformer/gridformer_3plane64_2xb16-stage1-1501e_shapenet-3k.py]

Without ``--config`` the converted tensors must fill the paper's 3-plane or grid-64 model exactly (keys and
shapes); with it, the config's model.

The renaming rules are documented in :mod:`visionx.models.converters.gridformer`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from visionx.utils.cli import run_tool  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official checkpoint (model.pt / model_best.pt)')
    parser.add_argument('dst', help='output VisionX checkpoint (.pth)')
    parser.add_argument('--config', help="check the result against this config's model (default: the paper's "
                        '3-plane and grid-64 models)')
    args = parser.parse_args(argv)
    from visionx.models.converters.gridformer import convert_file
    n = convert_file(args.src, args.dst, config=args.config)
    print(f'wrote {args.dst} ({n} tensors)')
    return 0


if __name__ == '__main__':
    run_tool(main)
