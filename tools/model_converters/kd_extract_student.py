#!/usr/bin/env python
"""Save the student of a VisionX distillation (KDEncoderDecoder) checkpoint as a plain mmseg 1.x checkpoint.

Usage:
    python tools/model_converters/kd_extract_student.py work_dirs/KD_RUN/iter_80000.pth student.pth \
        [--config STUDENT_CONFIG]

Keeps the ``student.*`` weights without their prefix and drops the teacher (present with
``save_teacher=True``), the teacher digest and the optimizer state.  ``--config`` checks the result with a
strict load into that config's model (a student config, or the KD config itself) before anything is
written.  The extraction is :func:`visionx.models.converters.bpkd.extract_student_file`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from visionx.utils.cli import run_tool  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='KDEncoderDecoder checkpoint')
    parser.add_argument('dst', help='output student checkpoint (.pth)')
    parser.add_argument('--config', help='student (or KD) config to check the result against (strict load)')
    args = parser.parse_args(argv)
    from visionx.models.converters.bpkd import extract_student_file
    n = extract_student_file(args.src, args.dst, args.config)
    print(f'saved the student ({n} tensors): {args.src} -> {args.dst}')
    return 0


if __name__ == '__main__':
    run_tool(main)
