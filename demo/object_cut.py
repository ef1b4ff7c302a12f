"""Cut the salient object out of images with BASNet (transparent PNGs at full resolution).

Usage:
    python demo/object_cut.py INPUT... --checkpoint CKPT --out-dir DIR [--save-mask]
        [--background white|#rrggbb|r,g,b|IMAGE] [--postprocess] [--invert] [--size 320]
        [--batch-size 1] [--device cpu]

INPUT are image files, folders (their image files, non-recursive) or glob patterns (quote them).  For each
image ``NAME.png`` (RGBA cut-out) is written to DIR, plus ``NAME_mask.png`` with ``--save-mask`` and
``NAME_composite.png`` with ``--background``.  Files are written under a temporary name and renamed, so
nothing is ever half-written.  A file that fails gets a one-line message and the others are still
processed; the exit code is 0 when every file succeeded, 1 when any failed, 2 when nothing could run
(bad checkpoint, bad option).

CKPT is a VisionX BASNet checkpoint or the official ``basnet.pth`` (converted on the fly).
"""
from __future__ import annotations

import argparse
import glob
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402
from tqdm import tqdm  # noqa: E402

from visionx.apis.object_cut import IMAGE_SUFFIXES, ObjectCutter, parse_background, read_image  # noqa: E402
from visionx.utils import atomic_path  # noqa: E402


def collect_inputs(specs: list[str]) -> tuple[list[Path], list[tuple[str, str]], list[tuple[str, str]]]:
    """Expand files / folders / globs.

    Returns:
        ``(files, skipped, missing)``: files to process (deduplicated, in order), ``(path, reason)`` for
        folder entries that are not images, and ``(spec, reason)`` for inputs that match nothing.
    """
    files, skipped, missing, seen = [], [], [], set()

    def add(p: Path) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            files.append(p)

    for spec in specs:
        p = Path(spec)
        if p.is_dir():
            for child in sorted(p.iterdir()):
                if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES:
                    add(child)
                elif child.is_file():
                    skipped.append((str(child), f'not an image suffix ({", ".join(IMAGE_SUFFIXES)})'))
        elif p.is_file():
            add(p)
        else:
            matches = sorted(Path(m) for m in glob.glob(spec, recursive=True) if Path(m).is_file())
            if not matches:
                missing.append((spec, 'no such file, folder or glob match'))
            for m in matches:
                add(m)
    return files, skipped, missing


def _save_png(array, path: Path) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format='PNG')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('inputs', nargs='+', help='image files, folders or glob patterns')
    parser.add_argument('--checkpoint', required=True, help='VisionX BASNet checkpoint or official basnet.pth')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--size', type=int, default=320, help='network input side (ObjectCut: 320)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch-size', type=int, default=1, help='images per network pass')
    parser.add_argument('--save-mask', action='store_true', help='also write NAME_mask.png')
    parser.add_argument('--background', default=None,
                        help='also write NAME_composite.png over this colour (name, #rrggbb, r,g,b) or image')
    parser.add_argument('--postprocess', action='store_true',
                        help='ObjectCut matte clean-up: threshold 5, erode 3x3, blur sigma 2, unsharp, Lanczos')
    parser.add_argument('--invert', action='store_true', help='remove the foreground instead of the background')
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error('--batch-size must be >= 1')
    if args.background is not None:
        try:
            parse_background(args.background, (1, 1))
        except (ValueError, OSError) as err:
            print(f'error: {err}', file=sys.stderr)
            return 2

    files, skipped, missing = collect_inputs(args.inputs)
    try:
        cutter = ObjectCutter(args.checkpoint, device=args.device, input_size=args.size)
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    failed: list[tuple[str, str]] = [*missing]
    for spec, reason in missing:
        print(f'FAILED {spec}: {reason}', file=sys.stderr)
    for path, reason in skipped:
        print(f'skipped {path}: {reason}', file=sys.stderr)
    used_names: set[str] = set()
    written = 0
    t0 = time.perf_counter()
    bar = tqdm(total=len(files), desc='object cut', unit='img')

    def flush(batch: list[tuple[Path, object]]) -> None:
        nonlocal written
        if not batch:
            return
        try:
            results = list(cutter.cut_batch([rgb for _, rgb in batch], background=args.background,
                                             postprocess=args.postprocess, invert=args.invert))
        except Exception as err:  # noqa: BLE001 - reported per file
            for path, _ in batch:
                failed.append((str(path), f'inference failed: {err}'))
                tqdm.write(f'FAILED {path}: inference failed: {err}', file=sys.stderr)
            bar.update(len(batch))
            return
        for (path, _), res in zip(batch, results):
            # Reserve the derived names too, so that input "a_mask.png" cannot overwrite a.png's mask.
            def names_of(stem):
                return {stem, f'{stem}_mask', f'{stem}_composite'}
            name, k = path.stem, 1
            while names_of(name) & used_names:
                name, k = f'{path.stem}_{k}', k + 1
            used_names.update(names_of(name))
            try:
                _save_png(res.rgba, out_dir / f'{name}.png')
                if args.save_mask:
                    _save_png(res.alpha, out_dir / f'{name}_mask.png')
                if res.composite is not None:
                    _save_png(res.composite, out_dir / f'{name}_composite.png')
                written += 1
            except Exception as err:  # noqa: BLE001 - reported per file
                failed.append((str(path), f'cannot write output: {err}'))
                tqdm.write(f'FAILED {path}: cannot write output: {err}', file=sys.stderr)
            bar.update(1)

    batch: list = []
    for path in files:
        try:
            rgb, _ = read_image(path)
        except Exception as err:  # noqa: BLE001 - reported per file
            reason = str(err).removeprefix(f'{path}: ')
            failed.append((str(path), reason))
            tqdm.write(f'FAILED {path}: {reason}', file=sys.stderr)
            bar.update(1)
            continue
        batch.append((path, rgb))
        if len(batch) == args.batch_size:
            flush(batch)
            batch = []
    flush(batch)
    bar.close()
    elapsed = time.perf_counter() - t0
    print(f'object cut: {written} written, {len(failed)} failed, {len(skipped)} skipped in {elapsed:.1f} s '
          f'-> {out_dir}')
    for path, reason in failed:
        print(f'  failed: {path}: {reason}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
