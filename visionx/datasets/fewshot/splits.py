"""Class splits of PASCAL-5i and COCO-20i and the COCO→PASCAL class filter (official
``src/dataset/classes.py``).

Class ids are the values in the label PNGs: PASCAL 1..20, COCO 1..80 (``create_masks.py`` order); 0 is
background, 255 ignored.  Names are the official ones (they are what the domain-shift filter compares).
"""
from __future__ import annotations

PASCAL_CLASSES = (
    'background', 'airplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'cat', 'car', 'chair', 'cow',
    'diningtable', 'dog', 'horse', 'motorcycle', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tv')

COCO_CLASSES = (
    'background', 'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse',
    'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie',
    'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove',
    'skateboard', 'surfboard', 'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon',
    'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut',
    'cake', 'chair', 'sofa', 'pottedplant', 'bed', 'diningtable', 'toilet', 'tv', 'laptop', 'mouse',
    'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book',
    'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush')

CLASS_NAMES = {'pascal': PASCAL_CLASSES, 'coco': COCO_CLASSES}


def split_classes(dataset: str, fold: int, use_split_coco: bool = True,
                  num_classes: int | None = None) -> tuple[list[int], list[int]]:
    """Base (training) and novel (test) class ids of a fold.

    Args:
        dataset: ``'pascal'`` or ``'coco'``.
        fold: 0..3, or -1 for "all classes are novel" (the domain-shift test set).
        use_split_coco: COCO-20i interleaved folds (novel ``{i+1, i+5, ..., i+77}``); ``False`` gives the
            contiguous 20-class folds.
        num_classes: number of foreground classes; defaults to the dataset's (20 / 80).  Other values serve
            synthetic datasets in the PASCAL layout: ``num_classes // 4`` contiguous novel classes per fold.

    Returns:
        ``(base, novel)`` sorted class-id lists (the official ``list(set(...))`` order of small ints).
    """
    if dataset not in CLASS_NAMES:
        raise ValueError(f"dataset must be 'pascal' or 'coco', got {dataset!r}")
    n = num_classes if num_classes is not None else len(CLASS_NAMES[dataset]) - 1
    if fold not in (-1, 0, 1, 2, 3):
        raise ValueError(f'fold must be 0, 1, 2, 3 or -1 (all classes), got {fold!r}')
    if n < 4 or n % 4:
        raise ValueError(f'num_classes must be a positive multiple of 4, got {n}')
    every = list(range(1, n + 1))
    if fold == -1:
        return [], every
    if dataset == 'coco' and use_split_coco:
        novel = list(range(fold + 1, n + 1, 4))
    else:
        step = n // 4
        novel = list(range(fold * step + 1, (fold + 1) * step + 1))
    return sorted(set(every) - set(novel)), novel


def filter_seen_classes(test_dataset: str, test_classes: list[int], train_dataset: str, train_fold: int,
                        use_split_coco: bool = True) -> list[int]:
    """Drop the test classes whose *name* is among the base classes of the training fold (COCO→PASCAL).

    Args:
        test_dataset: dataset of ``test_classes``.
        test_classes: candidate novel class ids.
        train_dataset: dataset the model was base-trained on.
        train_fold: its fold.
        use_split_coco: as :func:`split_classes` for the training dataset.

    Returns:
        The kept class ids, in order.
    """
    base, _ = split_classes(train_dataset, train_fold, use_split_coco)
    seen = {CLASS_NAMES[train_dataset][c] for c in base}
    return [c for c in test_classes if CLASS_NAMES[test_dataset][c] not in seen]
