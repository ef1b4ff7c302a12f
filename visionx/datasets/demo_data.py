"""Registry of the synthetic demo-data generators, one per method.

Each entry maps a method name to ``'module:function'``; the function has the signature
``make_demo(root: pathlib.Path, seed: int = 0, small: bool = False) -> None`` and writes a small dataset in
the method's *real* on-disk layout under ``root`` (``root`` is ``<demo root>/<method name>``).  ``small=True``
asks for the smallest dataset that still exercises every split (used by the tests).
``tools/data/make_demo_data.py`` and the test-suite fixtures call these.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

DEMO_GENERATORS: dict[str, str] = {
    'gridformer': 'visionx.datasets.reconstruction.synthetic_shapes:make_demo',
    'basnet': 'visionx.datasets.salient.synthetic:make_demo',
    'topomortar': 'visionx.datasets.topomortar.synthetic:make_demo',
    'tracoco': 'visionx.datasets.medical.synthetic:make_demo',
    'bpkd': 'visionx.datasets.semseg.synthetic:make_demo',
    'repri': 'visionx.datasets.fewshot.synthetic:make_demo',
    'ciss': 'visionx.datasets.ciss.synthetic:make_demo',
}


def get_generator(name: str) -> Callable[..., None]:
    """Import and return the generator registered as ``name``."""
    if name not in DEMO_GENERATORS:
        raise KeyError(f'no demo-data generator named {name!r}; known: {sorted(DEMO_GENERATORS)}')
    module, func = DEMO_GENERATORS[name].split(':')
    return getattr(importlib.import_module(module), func)


def make_demo_data(root: str | Path, names: list[str] | None = None, seed: int = 0,
                   small: bool = False, force: bool = False) -> list[Path]:
    """Write the demo datasets ``names`` (default: all) under ``root/<name>``; return their folders.

    A dataset whose folder already holds a ``.complete`` marker is kept as is (idempotent) unless ``force``.
    Generators write into a temporary sibling folder that replaces the old one only when complete, so an
    interrupted run leaves nothing half-written and, with ``force``, keeps the previous dataset.
    """
    import shutil
    root = Path(root)
    out = []
    for name in names or sorted(DEMO_GENERATORS):
        target = root / name
        out.append(target)
        if (target / '.complete').exists() and not force:
            continue
        tmp = root / f'.{name}.partial'
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        get_generator(name)(tmp, seed=seed, small=small)
        (tmp / '.complete').write_text(f'seed={seed} small={small}\n')
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    return out


#: Training cases per TraCoCo benchmark in :func:`make_official_layouts`: the largest ``labeled_num`` of
#: the configs (LA 16, Pancreas 12, BraTS19 50) plus two unlabelled cases.
OFFICIAL_TRACOCO_TRAIN = {'LA': 18, 'Pancreas': 14, 'BraTS19': 52}


def make_official_layouts(root: str | Path, seed: int = 0) -> Path:
    """Write a tiny synthetic stand-in for every official dataset the configs read, in its official layout.

    ``root`` plays the role of the repository's ``data/`` folder: a config's ``data_root='data/X'`` reads
    ``root/X``.  Written: ``DUTS/DUTS-TR``, ``DUTS-TE``, ``HKU-IS``, ``PASCAL-S``, ``DUT-OMRON``, ``ECSSD``,
    ``SOD`` (BASNet), ``ShapeNet`` with stage-2 boundary files and ``synthetic_room_dataset`` (GridFormer),
    ``TopoMortar`` and ``LA``, ``Pancreas``, ``BraTS19`` (TraCoCo), ``pascal`` (VOC2012 + SBD layout with the
    official ``lists/pascal``) and ``coco`` (COCO 2014 masks as ``create_masks.py`` writes them, ``lists/coco``)
    (RePRI), ``cityscapes``, ``ade/ADEChallengeData2016`` and ``VOCdevkit/VOC2010`` (Pascal-Context, BPKD),
    ``VOCdevkit/VOC2012`` (VOC + SegmentationClassAug) and ``ADEChallengeData2016`` (class-incremental),
    each with a couple of samples per split
    (TraCoCo: enough training cases for the configs' ``labeled_num``).  Used by ``tests/test_configs.py``
    to build every config's datasets; not a substitute for the real data.

    Returns:
        ``root``.
    """
    from visionx.datasets.medical.synthetic import make_benchmark_layout
    from visionx.datasets.reconstruction.synthetic_shapes import write_rooms_layout, write_shapenet_layout
    from visionx.datasets.salient.synthetic import write_benchmark_layouts
    from visionx.datasets.semseg.synthetic import (write_ade20k_layout, write_cityscapes_layout,
                                                   write_pascal_context_layout)
    from visionx.datasets.fewshot.synthetic import write_coco_layout, write_pascal_layout
    from visionx.datasets.topomortar.synthetic import make_demo as make_topomortar
    root = Path(root)
    write_benchmark_layouts(root, n=2, seed=seed)
    write_shapenet_layout(root / 'ShapeNet', seed=seed)
    write_rooms_layout(root / 'synthetic_room_dataset', seed=seed)
    make_topomortar(root / 'TopoMortar', seed=seed, small=True)
    for name, n_train in OFFICIAL_TRACOCO_TRAIN.items():
        make_benchmark_layout(root / name, name, n_train=n_train, n_eval=2, seed=seed)
    write_pascal_layout(root / 'pascal', seed=seed)
    write_coco_layout(root / 'coco', seed=seed)
    write_cityscapes_layout(root / 'cityscapes', seed=seed)
    write_ade20k_layout(root / 'ade' / 'ADEChallengeData2016', seed=seed)
    write_pascal_context_layout(root / 'VOCdevkit' / 'VOC2010', seed=seed)
    from visionx.datasets.ciss.synthetic import write_ade_layout, write_voc_layout
    write_voc_layout(root / 'VOCdevkit' / 'VOC2012', list(range(1, 21)), n_train=16, n_val=4, size=32, seed=seed)
    write_ade_layout(root / 'ADEChallengeData2016', list(range(1, 151)), n_train=8, n_val=4, size=32, seed=seed)
    return root
