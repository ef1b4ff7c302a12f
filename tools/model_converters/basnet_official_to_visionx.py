"""Convert the official BASNet weights (``basnet.pth`` from xuebinqin/BASNet) to a VisionX checkpoint.

Usage:
    python tools/model_converters/basnet_official_to_visionx.py basnet.pth checkpoints/basnet_r34_official.pth

The output is ``{'state_dict': ..., 'meta': {...}}`` for ``configs/basnet/*.py``, ``tools/test.py`` and
``demo/object_cut.py``.  Every official key must map and every VisionX parameter must be filled (checked by
loading the result into a freshly built ``BASNet`` with ``strict=True``, BN ``num_batches_tracked`` buffers,
absent from PyTorch-0.4.0 checkpoints, excepted).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from visionx.models.salient.convert import convert_official_basnet  # noqa: E402
from visionx.utils import atomic_path  # noqa: E402


def check_complete(state: dict) -> None:
    """Raise ValueError unless ``state`` fills every parameter of VisionX's BASNet."""
    from visionx.models.salient import BASNet
    model = BASNet()
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith('num_batches_tracked')]
    if missing or unexpected:
        raise ValueError(f'converted state dict does not match BASNet: missing {missing[:5]}, '
                         f'unexpected {unexpected[:5]}')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='official basnet.pth')
    parser.add_argument('dst', help='output VisionX checkpoint (.pth)')
    args = parser.parse_args(argv)
    src = Path(args.src)
    if not src.is_file():
        raise FileNotFoundError(f'{src} not found (expected the official basnet.pth state dict)')
    state = torch.load(src, map_location='cpu', weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f'{src} does not hold a state dict (got {type(state).__name__})')
    converted = convert_official_basnet(state)
    check_complete(converted)
    with atomic_path(args.dst) as tmp:
        torch.save({'state_dict': converted, 'meta': {'converted_from': src.name, 'format': 'visionx-basnet'}},
                   tmp)
    print(f'converted {len(converted)} tensors: {src} -> {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
