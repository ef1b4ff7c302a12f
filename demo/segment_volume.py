"""Segment a NIfTI volume with a trained TraCoCo checkpoint and write a NIfTI mask.

Example::

    python demo/segment_volume.py configs/tracoco/tracoco_vnet_1xb4-9k_la-8lab-112x112x80.py \
        work_dirs/tracoco_la8/iter_9000.pth scan.nii.gz mask.nii.gz --net mean --post-min-size 8000

The volume is min-max normalised as in training, segmented by sliding-window inference with the config's
patch size and strides (zero-padded when smaller than the patch), optionally cleaned of small components,
and written with the input's affine and header (uint8, 1 = foreground).  A 4D input with a single
channel is squeezed; anything else that is not a 3D volume is rejected.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', help='TraCoCo config file')
    p.add_argument('checkpoint', help='checkpoint written by tools/train.py (MMEngine)')
    p.add_argument('input', help='input volume (.nii or .nii.gz)')
    p.add_argument('output', help='output mask (.nii or .nii.gz)')
    p.add_argument('--net', choices=('net1', 'net2', 'mean'), default='net1',
                   help='network to use, or the mean of both networks\' probabilities')
    p.add_argument('--post-min-size', type=int, default=None,
                   help='remove 26-connected components smaller than this many voxels (official: 8000)')
    p.add_argument('--keep-largest', action='store_true', help='keep only the largest component')
    p.add_argument('--window-batch', type=int, default=None,
                   help='sliding windows per forward pass (default: 4 on GPU, 1 on CPU, where batching '
                        'windows measured slower; see configs/tracoco/README.md)')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    return p.parse_args(argv)


def load_nifti_volume(path: str | Path) -> tuple[np.ndarray, object]:
    """Read a single-channel 3D NIfTI volume; return (float32 (X, Y, Z) array, nibabel image)."""
    import nibabel as nib

    from visionx.datasets.medical import check_volume
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'{path} not found; expected a NIfTI volume (.nii / .nii.gz)')
    try:
        img = nib.load(str(path))
    except Exception as exc:  # nibabel raises several types for unreadable files
        raise ValueError(f'{path}: not a readable NIfTI file ({exc})') from exc
    data = check_volume(np.asarray(img.dataobj), str(path)).astype(np.float32)
    return data, img


def segment(model, volume: np.ndarray, device: torch.device) -> np.ndarray:
    """Min-max normalise ``volume`` (X, Y, Z) and return the uint8 mask predicted by ``model``."""
    from visionx.datasets.medical import MinMaxNormalize3D
    norm = MinMaxNormalize3D()(dict(img=volume))['img']
    [sample] = model.predict([torch.from_numpy(norm)[None].to(device)])
    return sample.pred_label


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import nibabel as nib
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    from visionx.registry import MODELS
    from visionx.utils import atomic_path

    volume, ref = load_nifti_volume(args.input)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'visionx'))
    window_batch = args.window_batch or (4 if torch.device(args.device).type == 'cuda' else 1)
    cfg.model.test_cfg.update(eval_nets=(), output=args.net, batch_size=window_batch,
                              post_min_size=args.post_min_size, keep_largest=args.keep_largest)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    device = torch.device(args.device)
    model.to(device).eval()
    mask = segment(model, volume, device)
    out = Path(args.output)
    suffix = ''.join(out.suffixes[-2:]) if out.name.endswith('.nii.gz') else out.suffix
    if suffix not in ('.nii', '.nii.gz'):
        raise ValueError(f'output {out} must end in .nii or .nii.gz')
    header = ref.header.copy()
    header.set_data_dtype(np.uint8)
    with atomic_path(out, suffix=suffix) as tmp:
        nib.save(nib.Nifti1Image(mask.astype(np.uint8), ref.affine, header), str(tmp))
    print(f'wrote {out}: {int(mask.sum())} foreground voxels of {mask.size}')


if __name__ == '__main__':
    main()
