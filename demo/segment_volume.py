#!/usr/bin/env python
"""Segment a NIfTI volume with a trained TraCoCo checkpoint and write a NIfTI mask.

    python demo/segment_volume.py [CONFIG] CHECKPOINT INPUT OUTPUT [--config CFG] [--net net1|net2|mean]
        [--overlap F] [--batch-windows N] [--threads N] [--post-min-size N] [--keep-largest] [--device cpu]

Example::

    python demo/segment_volume.py work_dirs/tracoco_la8/iter_9000.pth scan.nii.gz mask.nii.gz \
        --net mean --post-min-size 8000

The config is ``--config`` (or a leading CONFIG argument, the older form), else the one ``tools/train.py``
stored in the checkpoint; the checkpoint must be a TraCoCo checkpoint matching it exactly.  The volume is
min-max normalised as in training, segmented by sliding-window inference with the config's patch size
(zero-padded when smaller than the patch) and strides (or ``--overlap``), optionally cleaned of small
components, and written with the input's affine and header (uint8, 1 = foreground).  A 4D input with a
single channel is squeezed; anything else that is not a 3D volume is rejected.

A progress bar counts the windows (all networks evaluated) and their rate.  Options, the input volume and
the checkpoint are checked before inference; a user error (bad option, missing / truncated / 2-D input,
checkpoint of another model) prints one ``error:`` line naming the file and exits with status 2, and
nothing is written.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from visionx.utils import ConfigError, DataFormatError, UserFileNotFoundError  # noqa: E402

NIFTI_SUFFIXES = ('.nii', '.nii.gz')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from visionx.apis.inference import add_runtime_args
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('paths', nargs='+', metavar='[CONFIG] CHECKPOINT INPUT OUTPUT',
                   help='checkpoint written by tools/train.py, input volume (.nii / .nii.gz), output mask '
                        '(.nii / .nii.gz); a leading config file is the same as --config')
    p.add_argument('--net', choices=('net1', 'net2', 'mean'), default=None,
                   help='network to use, or the mean of both networks\' probabilities (default: the config\'s '
                        'model.test_cfg.output, else net1)')
    p.add_argument('--overlap', type=float, default=None,
                   help='window overlap in [0, 1): strides = round(patch x (1 - overlap)), at least 1 voxel '
                        '(default: the config\'s strides, e.g. (18, 18, 4) of a 112x112x80 patch for LA)')
    p.add_argument('--batch-windows', '--window-batch', dest='batch_windows', type=int, default=None,
                   help='sliding windows per forward pass (default: 4 on GPU, 1 on CPU, where batching '
                        'windows measured slower; see configs/tracoco/README.md)')
    p.add_argument('--post-min-size', type=int, default=None,
                   help='remove 26-connected components smaller than this many voxels (official: 8000; '
                        'default: the config\'s model.test_cfg.post_min_size)')
    p.add_argument('--keep-largest', action='store_true', default=None,
                   help='keep only the largest component (default: the config\'s model.test_cfg.keep_largest)')
    add_runtime_args(p)
    args = p.parse_args(argv)
    if len(args.paths) not in (3, 4):
        p.error(f'expected [CONFIG] CHECKPOINT INPUT OUTPUT, got {len(args.paths)} paths')
    if len(args.paths) == 4:
        if args.config is not None:
            p.error('give the config either as the first argument or with --config, not both')
        args.config = args.paths[0]
    args.checkpoint, args.input, args.output = args.paths[-3:]
    return args


def nifti_suffix(path: Path) -> str:
    """``.nii.gz`` or the last suffix of ``path``."""
    return '.nii.gz' if path.name.lower().endswith('.nii.gz') else path.suffix.lower()


def check_args(args: argparse.Namespace) -> None:
    """Refuse bad options before the input is read or the model built."""
    if nifti_suffix(Path(args.output)) not in NIFTI_SUFFIXES:
        raise ConfigError(f'output {args.output} must end in .nii or .nii.gz')
    from visionx.utils import check_output_path
    check_output_path(args.output, 'output')
    if args.overlap is not None and not 0 <= args.overlap < 1:
        raise ConfigError(f'--overlap must be in [0, 1), got {args.overlap}')
    if args.batch_windows is not None and args.batch_windows < 1:
        raise ConfigError(f'--batch-windows must be >= 1, got {args.batch_windows}')
    if args.post_min_size is not None and args.post_min_size < 1:
        raise ConfigError(f'--post-min-size must be >= 1, got {args.post_min_size}')
    if args.post_min_size is not None and args.keep_largest:
        raise ConfigError('--post-min-size and --keep-largest: keeping the largest component ignores the size; '
                          'give one of them')


def load_nifti_volume(path: str | Path) -> tuple[np.ndarray, object]:
    """Read a single-channel 3D NIfTI volume.

    Returns:
        ``(volume, image)``: float32 (X, Y, Z) array and the nibabel image (affine, header).

    Raises:
        UserFileNotFoundError: no such file.
        DataFormatError: not a NIfTI file, truncated data, not a 3D volume, NaN/Inf voxels.
    """
    import nibabel as nib

    from visionx.datasets.medical import check_volume
    path = Path(path)
    if not path.is_file():
        raise UserFileNotFoundError(f'{path} not found; expected a NIfTI volume (.nii / .nii.gz)')
    try:
        img = nib.load(str(path))
        data = np.asarray(img.dataobj)  # nibabel reads lazily: truncated data fails here, not in nib.load
    except Exception as exc:  # noqa: BLE001 - nibabel, gzip and zlib raise many types (EOFError, OSError...)
        detail = str(exc).splitlines()[0] if str(exc) else 'no detail'
        raise DataFormatError(f'{path}: not a readable NIfTI volume ({type(exc).__name__}: {detail}); expected '
                              'a complete .nii / .nii.gz file') from None
    return check_volume(data, str(path)).astype(np.float32), img


def strides_for_overlap(patch_size: tuple[int, ...], overlap: float) -> tuple[int, ...]:
    """Window strides ``max(1, round(p (1 - overlap)))`` per axis."""
    return tuple(max(1, round(p * (1 - overlap))) for p in patch_size)


def count_windows(shape: tuple[int, ...], patch_size: tuple[int, ...], strides: tuple[int, ...]) -> int:
    """Windows :func:`~visionx.models.medical.inference.sliding_window_predict` evaluates on ``shape``
    (after padding each axis to at least the patch)."""
    from visionx.models.medical.inference import window_starts
    return math.prod(len(window_starts(max(s, p), p, st)) for s, p, st in zip(shape, patch_size, strides))


@contextlib.contextmanager
def window_progress(model: torch.nn.Module, nets: list[str], total: int) -> Iterator[tqdm]:
    """A tqdm bar (windows done / total, rate) advanced by forward hooks on the networks ``nets``."""
    bar = tqdm(total=total, desc='segment volume', unit='window', file=sys.stderr)
    def count(module, inputs, output) -> None:  # returning None keeps the output
        bar.update(int(inputs[0].shape[0]))

    handles = [getattr(model, n).register_forward_hook(count) for n in nets]
    try:
        yield bar
    finally:
        for h in handles:
            h.remove()
        bar.close()


def segment(model, volume: np.ndarray, device: torch.device, precision: str = 'fp32') -> np.ndarray:
    """Min-max normalise ``volume`` (X, Y, Z) and return the uint8 mask predicted by ``model``.

    ``precision`` is a resolved precision (``fp32``, ``bf16``, ``fp16``): the networks run under its
    autocast; the window scores are accumulated in fp32.
    """
    from visionx.datasets.medical import MinMaxNormalize3D
    from visionx.utils.precision import autocast
    norm = MinMaxNormalize3D()(dict(img=volume))['img']
    with torch.inference_mode(), autocast(precision, device):
        [sample] = model.predict([torch.from_numpy(norm)[None].to(device)])
    return sample.pred_label


def main(argv: list[str] | None = None) -> int:
    """Segment one volume.  User errors raise :class:`~visionx.utils.VisionXUserError` (``run_tool``: exit 2)."""
    args = parse_args(argv)
    check_args(args)
    import nibabel as nib

    from visionx.apis.inference import apply_runtime_args, init_model
    from visionx.utils import atomic_path

    device = apply_runtime_args(args)
    volume, ref = load_nifti_volume(args.input)
    batch_windows = args.batch_windows or (4 if device.type == 'cuda' else 1)

    def update_cfg(cfg) -> None:
        test_cfg = cfg.model.setdefault('test_cfg', {})
        test_cfg.update(eval_nets=(), batch_size=batch_windows)
        given = dict(output=args.net, post_min_size=args.post_min_size, keep_largest=args.keep_largest)
        if args.post_min_size is not None:  # a size given: the config's keep_largest would ignore it
            given['keep_largest'] = False
        test_cfg.update({k: v for k, v in given.items() if v is not None})  # the config's values otherwise
        if args.overlap is not None:
            if 'patch_size' not in test_cfg:
                raise ConfigError('--overlap needs model.test_cfg.patch_size in the config')
            test_cfg['strides'] = strides_for_overlap(tuple(test_cfg['patch_size']), args.overlap)

    model, _ = init_model(args.checkpoint, args.config, ('TraCoCo',), 'volume segmentation', device, update_cfg)
    patch, strides = tuple(model.test_cfg['patch_size']), tuple(model.test_cfg['strides'])
    output = model.test_cfg['output']
    nets = ['net1', 'net2'] if output == 'mean' else [output]
    windows = count_windows(volume.shape, patch, strides)
    print(f'{args.input}: {volume.shape} voxels, patch {patch}, strides {strides}: {windows} windows x '
          f'{len(nets)} network(s), {batch_windows} per pass')
    t0 = time.perf_counter()
    with window_progress(model, nets, windows * len(nets)):
        mask = segment(model, volume, device, args.precision)
    out = Path(args.output)
    header = ref.header.copy()
    header.set_data_dtype(np.uint8)
    with atomic_path(out, suffix=nifti_suffix(out)) as tmp:
        nib.save(nib.Nifti1Image(mask.astype(np.uint8), ref.affine, header), str(tmp))
    print(f'wrote {out}: {int(mask.sum())} foreground voxels of {mask.size} in '
          f'{time.perf_counter() - t0:.1f} s')
    return 0


if __name__ == '__main__':
    from visionx.utils.cli import run_tool
    run_tool(main)
