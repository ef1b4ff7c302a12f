"""Cut the salient object out of images with BASNet (transparent PNGs at full resolution).

Usage:
    python demo/object_cut.py INPUT... --checkpoint CKPT --out-dir DIR [--save-mask]
        [--background white|#rrggbb|r,g,b|IMAGE] [--postprocess] [--invert] [--size 320]
        [--batch-size 1] [--exclude GLOB ...] [--max-pixels N] [--config CFG] [--device cpu] [--threads N]
        [--precision auto|fp32|bf16|fp16]

INPUT are image files, folders (their image files, non-recursive) or glob patterns (quote them).  Files whose
name or path matches an ``--exclude`` glob (e.g. ``'*_mask.png'``, repeatable) are left out.  For each
image ``NAME.png`` (RGBA cut-out) is written to DIR, plus ``NAME_mask.png`` with ``--save-mask`` and
``NAME_composite.png`` with ``--background``; when two inputs share a name (or one would overwrite another's
mask), the later one is written as ``NAME_1.png`` and the summary counts the renamed outputs.  Files are
written under a temporary name and renamed, so nothing is ever half-written.

An image larger than ``--max-pixels`` (width x height from its header, default 120 MP; 0 = no limit) is
refused before decoding, as a possible decompression bomb.  An image of a single colour has no object to
cut: its alpha is 0 everywhere (see ``ObjectCutter``), and the summary counts such images.

A file that fails gets a one-line message and the others are still processed; the exit code is 0 when every
file succeeded, 1 when any failed.  Nothing runs and nothing is written when an option, the config or the
checkpoint is wrong: one ``error:`` line, exit code 2.

CKPT is a VisionX BASNet checkpoint (the config stored in it by ``tools/train.py`` is used unless
``--config`` is given) or the official ``basnet.pth`` (converted on the fly).
"""
from __future__ import annotations

import argparse
import fnmatch
import glob
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402
from tqdm import tqdm  # noqa: E402

from visionx.apis.inference import add_runtime_args, apply_runtime_args  # noqa: E402
from visionx.apis.object_cut import (DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, ObjectCutter, parse_background,  # noqa: E402
                                     read_image)
from visionx.utils import ConfigError, atomic_path  # noqa: E402


def is_excluded(path: Path, patterns: list[str]) -> bool:
    """True when the file's name or its path matches one of the ``--exclude`` globs."""
    return any(fnmatch.fnmatch(path.name, g) or fnmatch.fnmatch(str(path), g) for g in patterns)


def collect_inputs(specs: list[str], exclude: list[str] | None = None
                   ) -> tuple[list[Path], list[tuple[str, str]], list[tuple[str, str]], int]:
    """Expand files / folders / globs, leaving out the files that match ``exclude``.

    Returns:
        ``(files, skipped, missing, excluded)``: files to process (deduplicated, in order), ``(path, reason)``
        for folder entries that are not images, ``(spec, reason)`` for inputs that match nothing, and the
        number of files left out by ``exclude``.
    """
    files, skipped, missing, seen = [], [], [], set()
    excluded = 0

    def add(p: Path) -> None:
        nonlocal excluded
        key = p.resolve()
        if key in seen:
            return
        seen.add(key)
        if exclude and is_excluded(p, exclude):
            excluded += 1
        else:
            files.append(p)

    for spec in specs:
        p = Path(spec)
        if p.is_dir():
            for child in sorted(p.iterdir()):
                if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES:
                    add(child)
                elif child.is_file() and not (exclude and is_excluded(child, exclude)):
                    skipped.append((str(child), f'not an image suffix ({", ".join(IMAGE_SUFFIXES)})'))
        elif p.is_file():
            add(p)
        else:
            matches = sorted(Path(m) for m in glob.glob(spec, recursive=True) if Path(m).is_file())
            if not matches:
                missing.append((spec, 'no such file, folder or glob match'))
            for m in matches:
                add(m)
    return files, skipped, missing, excluded


def _save_png(array, path: Path) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format='PNG')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('inputs', nargs='+', help='image files, folders or glob patterns')
    parser.add_argument('--checkpoint', required=True, help='VisionX BASNet checkpoint or official basnet.pth')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--size', type=int, default=320, help='network input side (ObjectCut: 320)')
    parser.add_argument('--batch-size', type=int, default=1, help='images per network pass')
    parser.add_argument('--save-mask', action='store_true', help='also write NAME_mask.png')
    parser.add_argument('--background', default=None,
                        help='also write NAME_composite.png over this colour (name, #rrggbb, r,g,b) or image')
    parser.add_argument('--postprocess', action='store_true',
                        help='ObjectCut matte clean-up: threshold 5, erode 3x3, blur sigma 2, unsharp, Lanczos')
    parser.add_argument('--invert', action='store_true', help='remove the foreground instead of the background')
    parser.add_argument('--exclude', action='append', default=[], metavar='GLOB',
                        help="leave out files whose name or path matches GLOB, e.g. '*_mask.png' (repeatable)")
    parser.add_argument('--max-pixels', type=int, default=DEFAULT_MAX_PIXELS, metavar='N',
                        help='refuse images with more pixels (width x height, read from the header before '
                             f'decoding; default {DEFAULT_MAX_PIXELS:,}; 0 = no limit)')
    add_runtime_args(parser)
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    """Refuse bad options before the checkpoint is loaded or anything is written."""
    if args.batch_size < 1:
        raise ConfigError(f'--batch-size must be >= 1, got {args.batch_size}')
    if args.size < 32:
        raise ConfigError(f'--size must be >= 32, got {args.size}')
    if args.max_pixels < 0:
        raise ConfigError(f'--max-pixels must be >= 0 (0 = no limit), got {args.max_pixels}')
    if args.background is not None:
        parse_background(args.background, (1, 1))


def main(argv: list[str] | None = None) -> int:
    """Cut every input.  Returns 0 (all written) or 1 (some failed); a user error that stops the whole run
    raises :class:`~visionx.utils.VisionXUserError` (``run_tool``: exit 2)."""
    args = parse_args(argv)
    check_args(args)
    from visionx.utils import check_output_dir
    check_output_dir(args.out_dir, '--out-dir')  # before the checkpoint is loaded
    device = apply_runtime_args(args)
    files, skipped, missing, excluded = collect_inputs(args.inputs, args.exclude)
    cutter = ObjectCutter(args.checkpoint, device=device, input_size=args.size, config=args.config,
                          precision=args.precision)

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    failed: list[tuple[str, str]] = [*missing]
    for spec, reason in missing:
        print(f'FAILED {spec}: {reason}', file=sys.stderr)
    for path, reason in skipped:
        print(f'skipped {path}: {reason}', file=sys.stderr)
    used_names: set[str] = set()
    written = renamed = constant = 0
    t0 = time.perf_counter()
    bar = tqdm(total=len(files), desc='object cut', unit='img')

    def flush(batch: list[tuple[Path, object]]) -> None:
        nonlocal written, renamed, constant
        if not batch:
            return
        try:
            results = list(cutter.cut_batch([rgb for _, rgb in batch], background=args.background,
                                             postprocess=args.postprocess, invert=args.invert))
        except (RuntimeError, MemoryError) as err:  # e.g. out of memory: reported per file, bugs propagate
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
            renamed += name != path.stem
            constant += res.constant
            try:
                _save_png(res.rgba, out_dir / f'{name}.png')
                if args.save_mask:
                    _save_png(res.alpha, out_dir / f'{name}_mask.png')
                if res.composite is not None:
                    _save_png(res.composite, out_dir / f'{name}_composite.png')
                written += 1
            except OSError as err:  # disk full, permissions: reported per file
                failed.append((str(path), f'cannot write output: {err}'))
                tqdm.write(f'FAILED {path}: cannot write output: {err}', file=sys.stderr)
            bar.update(1)

    batch: list = []
    for path in files:
        try:
            rgb, _ = read_image(path, max_pixels=args.max_pixels)
        except Exception as err:  # noqa: BLE001 - hostile files make PIL raise many types; reported per file
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
    print(f'object cut: {written} written, {len(failed)} failed, {len(skipped)} skipped, {excluded} excluded in '
          f'{elapsed:.1f} s -> {out_dir}')
    if renamed:
        print(f'  {renamed} output(s) renamed NAME_<k>.png because another input has the same name')
    if constant:
        print(f'  {constant} image(s) of a single colour: nothing to cut, alpha 0 everywhere')
    for path, reason in failed:
        print(f'  failed: {path}: {reason}')
    return 1 if failed else 0


if __name__ == '__main__':
    from visionx.utils.cli import run_tool
    run_tool(main)
