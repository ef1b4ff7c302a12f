#!/usr/bin/env python
"""Write the small synthetic demo datasets, each in its method's real on-disk layout.

    python tools/data/make_demo_data.py [--root data/demo] [--only NAME ...] [--small] [--seed 0]

Idempotent: a dataset already complete under ``ROOT/NAME`` is kept (``--force`` rewrites it).
"""
import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from visionx.utils.cli import run_tool  # noqa: E402


def main(argv=None) -> int:
    from visionx.datasets.demo_data import DEMO_GENERATORS, make_demo_data

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', default='data/demo', help='output folder (default: data/demo)')
    parser.add_argument('--only', nargs='+', choices=sorted(DEMO_GENERATORS),
                        help='generate only these datasets')
    parser.add_argument('--small', action='store_true', help='the tiny variants used by the tests')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--force', action='store_true', help='regenerate complete datasets too')
    args = parser.parse_args(argv)

    names = args.only or sorted(DEMO_GENERATORS)
    if not names:
        print('no demo-data generators are registered yet')
        return 0
    root = Path(args.root)
    for name in names:
        target = root / name
        marker = target / '.complete'
        if marker.exists() and not args.force:
            wanted = f'seed={args.seed} small={args.small}'
            have = marker.read_text().strip()
            if have != wanted:
                print(f'[demo-data] {name}: kept the existing dataset ({have}), not {wanted}; use --force to '
                      'regenerate it')
            else:
                print(f'[demo-data] {name}: already complete in {target}')
            continue
        t0 = time.perf_counter()
        print(f'[demo-data] {name}: writing {target} ...', flush=True)
        make_demo_data(root, [name], seed=args.seed, small=args.small, force=args.force)
        print(f'[demo-data] {name}: done in {time.perf_counter() - t0:.1f} s')
    return 0


if __name__ == '__main__':
    run_tool(main)
