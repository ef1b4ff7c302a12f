#!/usr/bin/env python
"""Convert a released BPKD checkpoint (AkideLiu/BPKD) into an mmseg 1.x student checkpoint.

Usage:
    python tools/model_converters/bpkd_official_to_visionx.py SRC.pth DST.pth [--config STUDENT_CONFIG]

Accepted inputs: mmseg 0.x student checkpoints (``backbone.*``, ``decode_head.*``, ...) and mmrazor 0.x KD
checkpoints (student keys under ``architecture.model.``; teacher and distiller keys are dropped).  The output
``{'state_dict', 'meta'}`` loads with ``tools/test.py`` and the student configs of ``configs/bpkd/``;
``--config`` (a student or KD config) checks that with a strict load before anything is written.  The
conversion is :func:`visionx.models.converters.bpkd.convert_file`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from visionx.utils.cli import run_tool  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='released BPKD checkpoint (mmseg 0.x or mmrazor 0.x)')
    parser.add_argument('dst', help='output mmseg 1.x student checkpoint (.pth)')
    parser.add_argument('--config', help='student (or KD) config to check the result against (strict load)')
    args = parser.parse_args(argv)
    from visionx.models.converters.bpkd import convert_file
    layout = convert_file(args.src, args.dst, args.config)
    print(f'converted {layout} checkpoint: {args.src} -> {args.dst}')
    return 0


if __name__ == '__main__':
    run_tool(main)
