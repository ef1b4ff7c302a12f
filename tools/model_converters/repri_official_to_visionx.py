#!/usr/bin/env python
"""Convert an official RePRI PSPNet checkpoint (``best.pth`` of mboudiaf/RePRI-for-Few-Shot-Segmentation) to a
VisionX checkpoint.

Usage:
    python tools/model_converters/repri_official_to_visionx.py best.pth checkpoints/repri_pascal_fold0.pth \
        --config configs/repri/repri_pspnet_r50-d8_4xb3-100e_pascal5i-fold0-417x417.py

The output is ``{'state_dict': ..., 'meta': {...}}`` for ``tools/test.py``.  Every official key must map; with
``--config`` the result must also fill that config's model exactly (names and shapes: R50 vs R101, 16 vs 61
classes).  The conversion is :func:`visionx.models.converters.repri.convert_file`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from visionx.utils.cli import run_tool  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='official RePRI checkpoint (best.pth)')
    parser.add_argument('dst', help='output VisionX checkpoint (.pth)')
    parser.add_argument('--config', help='RePRI config whose model the weights must fill exactly')
    args = parser.parse_args(argv)
    from visionx.models.converters.repri import convert_file
    model = None
    if args.config:
        from mmengine.registry import init_default_scope

        from visionx.registry import MODELS
        from visionx.utils import ConfigError, load_config
        cfg = load_config(args.config, None)
        if not cfg.get('model'):
            raise ConfigError(f'{args.config} has no model')
        init_default_scope(cfg.get('default_scope', 'visionx'))
        try:
            model = MODELS.build(cfg.model)
        except KeyError as exc:
            raise ConfigError(f'{args.config}: cannot build its model: {exc}') from None
    n = convert_file(args.src, args.dst, model)
    print(f'converted {n} tensors: {args.src} -> {args.dst}')
    return 0


if __name__ == '__main__':
    run_tool(main)
