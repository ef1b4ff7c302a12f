"""Class-incremental segmentation (CISS) task definitions and per-step label mapping.

Reference: METHODS.md part B §6.1-6.3; the task table of SSUL/BARM ``utils/tasks.py`` (class order = dataset
index order, except the shuffled VOC 15-1 orders ``15-1_b`` ... ``15-1_w``).

Every task lists, per step, the *dataset* label ids learnt at that step; step 0 holds background (id 0).  The
model numbers its output channels in task order (the concatenation of the steps), so with a shuffled order
dataset id ``order[k]`` becomes model id ``k`` (SSUL's ``ordering_map``).  For the ordered tasks the two
numberings coincide.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from visionx.utils.errors import ConfigError

IGNORE_INDEX = 255

#: Number of label ids (background included) of each dataset.
DATASET_NUM_CLASSES = {'voc': 21, 'ade': 151}


def _singletons(first: int, last: int) -> list[list[int]]:
    return [[c] for c in range(first, last + 1)]


def _chunks(first: int, last: int, size: int) -> list[list[int]]:
    return [list(range(s, min(s + size, last + 1))) for s in range(first, last + 1, size)]


_VOC_SHUFFLED_15_1 = {
    'b': ([0, 12, 9, 20, 7, 15, 8, 14, 16, 5, 19, 4, 1, 13, 2, 11], [17, 3, 6, 18, 10]),
    'c': ([0, 13, 19, 15, 17, 9, 8, 5, 20, 4, 3, 10, 11, 18, 16, 7], [12, 14, 6, 1, 2]),
    'd': ([0, 15, 3, 2, 12, 14, 18, 20, 16, 11, 1, 19, 8, 10, 7, 17], [6, 5, 13, 9, 4]),
    'e': ([0, 7, 5, 3, 9, 13, 12, 14, 19, 10, 2, 1, 4, 16, 8, 17], [15, 18, 6, 11, 20]),
    'f': ([0, 7, 13, 5, 11, 9, 2, 15, 12, 14, 3, 20, 1, 16, 4, 18], [8, 6, 10, 19, 17]),
    'g': ([0, 7, 5, 9, 1, 15, 18, 14, 3, 20, 10, 4, 19, 11, 17, 16], [12, 8, 6, 2, 13]),
    'h': ([0, 12, 9, 19, 6, 4, 10, 5, 18, 14, 15, 16, 3, 8, 7, 11], [13, 2, 20, 17, 1]),
    'i': ([0, 13, 10, 15, 8, 7, 19, 4, 3, 16, 12, 14, 11, 5, 20, 6], [2, 18, 9, 17, 1]),
    'j': ([0, 1, 14, 9, 5, 2, 15, 8, 20, 6, 16, 18, 7, 11, 10, 19], [3, 4, 17, 12, 13]),
    'k': ([0, 16, 13, 1, 11, 12, 18, 6, 14, 5, 3, 7, 9, 20, 19, 15], [4, 2, 10, 8, 17]),
    'l': ([0, 10, 7, 6, 19, 16, 8, 17, 1, 14, 4, 9, 3, 15, 11, 12], [2, 18, 20, 13, 5]),
    'm': ([0, 18, 4, 14, 17, 12, 10, 7, 3, 9, 1, 8, 15, 6, 13, 2], [5, 11, 20, 16, 19]),
    'n': ([0, 5, 4, 13, 18, 14, 10, 19, 15, 7, 9, 3, 2, 8, 16, 20], [1, 12, 11, 6, 17]),
    'o': ([0, 9, 12, 13, 18, 7, 1, 15, 17, 10, 8, 4, 5, 20, 16, 6], [14, 19, 11, 2, 3]),
    'p': ([0, 9, 12, 13, 18, 2, 11, 15, 17, 10, 8, 4, 5, 20, 16, 6], [14, 19, 1, 7, 3]),
    'q': ([0, 3, 14, 13, 18, 2, 11, 15, 17, 10, 8, 4, 5, 20, 16, 6], [12, 19, 1, 7, 9]),
    'r': ([0, 3, 14, 13, 1, 2, 11, 15, 17, 7, 8, 4, 5, 9, 16, 19], [12, 6, 18, 10, 20]),
    's': ([0, 3, 14, 6, 1, 2, 11, 12, 17, 7, 20, 4, 5, 9, 16, 19], [15, 13, 18, 10, 8]),
    't': ([0, 3, 15, 13, 1, 2, 11, 18, 17, 7, 20, 8, 5, 9, 16, 19], [14, 6, 12, 10, 4]),
    'u': ([0, 3, 15, 13, 14, 6, 11, 18, 17, 7, 20, 8, 4, 9, 16, 10], [1, 2, 12, 19, 5]),
    'v': ([0, 1, 2, 12, 14, 6, 19, 18, 17, 5, 20, 8, 4, 9, 16, 10], [3, 15, 13, 11, 7]),
    'w': ([0, 1, 2, 12, 14, 13, 19, 18, 7, 11, 20, 8, 4, 9, 16, 10], [3, 15, 6, 5, 17]),
}

#: The predefined tasks: dataset -> task name -> list of steps, each a list of dataset label ids.
TASKS: dict[str, dict[str, list[list[int]]]] = {
    'voc': {
        'offline': [list(range(21))],
        '19-1': [list(range(20)), [20]],
        '15-5': [list(range(16)), list(range(16, 21))],
        '15-1': [list(range(16)), *_singletons(16, 20)],
        '10-1': [list(range(11)), *_singletons(11, 20)],
        '5-3': [list(range(6)), *_chunks(6, 20, 3)],
        '5-1': [list(range(6)), *_singletons(6, 20)],
        '2-2': [list(range(3)), *_chunks(3, 20, 2)],
        '2-1': [list(range(3)), *_singletons(3, 20)],
        **{f'15-1_{k}': [base, *([c] for c in later)] for k, (base, later) in _VOC_SHUFFLED_15_1.items()},
    },
    'ade': {
        'offline': [list(range(151))],
        '100-50': [list(range(101)), list(range(101, 151))],
        '100-10': [list(range(101)), *_chunks(101, 150, 10)],
        '100-5': [list(range(101)), *_chunks(101, 150, 5)],
        '50-50': [list(range(51)), list(range(51, 101)), list(range(101, 151))],
    },
}


@dataclass(frozen=True)
class CISSTask:
    """One class-incremental task: the dataset label ids learnt at every step.

    Args:
        dataset: ``'voc'`` or ``'ade'``.
        name: task name (``'15-1'``), or a free name for custom ``steps``.
        steps: per step, the dataset label ids learnt at that step; step 0 must contain background (0).
    """

    dataset: str
    name: str
    steps: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        if self.dataset not in DATASET_NUM_CLASSES:
            raise ConfigError(f'unknown CISS dataset {self.dataset!r}; expected one of {sorted(DATASET_NUM_CLASSES)}')
        n = DATASET_NUM_CLASSES[self.dataset]
        if not self.steps or 0 not in self.steps[0]:
            raise ConfigError(f'task {self.name!r}: step 0 must contain the background class 0')
        seen: set[int] = set()
        for t, classes in enumerate(self.steps):
            if not classes:
                raise ConfigError(f'task {self.name!r}: step {t} has no classes')
            for c in classes:
                if not isinstance(c, (int, np.integer)) or not 0 <= c < n:
                    raise ConfigError(f'task {self.name!r}, step {t}: class id {c!r} is outside the {self.dataset} '
                                      f'dataset (ids 0..{n - 1})')
                if c in seen:
                    raise ConfigError(f'task {self.name!r}, step {t}: class id {c} is learnt twice')
                seen.add(c)

    # sizes ---------------------------------------------------------------------------------------------
    @property
    def num_steps(self) -> int:
        return len(self.steps)

    @property
    def classes_per_step(self) -> list[int]:
        """Output channels added at every step (step 0 counts background)."""
        return [len(s) for s in self.steps]

    def num_seen(self, step: int) -> int:
        """Model classes (background included) known after ``step``."""
        return sum(self.classes_per_step[:self.check_step(step) + 1])

    def check_step(self, step: int) -> int:
        if not isinstance(step, int) or not 0 <= step < self.num_steps:
            raise ConfigError(f'task {self.dataset} {self.name!r} has steps 0..{self.num_steps - 1}, got step {step!r}')
        return step

    # label ids -----------------------------------------------------------------------------------------
    @cached_property
    def order(self) -> list[int]:
        """Dataset label id of every model id (the concatenated steps)."""
        return [c for s in self.steps for c in s]

    def seen_ids(self, step: int) -> set[int]:
        """Dataset ids learnt in steps ``0..step``."""
        return {c for s in self.steps[:self.check_step(step) + 1] for c in s}

    def train_lut(self, step: int) -> np.ndarray:
        """Look-up table (256,) mapping a dataset label id to the step's training label.

        Classes of ``step`` keep their (re-ordered) model id; old and future classes and unknown ids become
        background (0); 255 stays 255 (METHODS.md B§6.2).
        """
        lut = np.zeros(256, dtype=np.uint8)
        lut[IGNORE_INDEX] = IGNORE_INDEX
        for c in self.steps[self.check_step(step)]:
            lut[c] = self.order.index(c)
        return lut

    def test_lut(self, step: int) -> np.ndarray:
        """Look-up table (256,) for evaluation after ``step``: seen classes get their model id, unseen
        (future) classes become 255 (MiB's test mapping; SSUL drops ids >= the seen count, the same pixels)."""
        lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
        for c in self.seen_ids(step):
            lut[c] = self.order.index(c)
        return lut

    def keep_image(self, image_classes: set[int], step: int, setting: str) -> bool:
        """Whether a training image with dataset ids ``image_classes`` (255 excluded) is used at ``step``.

        ``'overlap'``: it holds at least one class of the step.  ``'disjoint'``: additionally every class it
        holds is already seen (background and 255 allowed), i.e. no future class (METHODS.md B§6.2).  The
        official SSUL/BARM filter writes the seen set as ``range(1, first new id)``, which equals this for the
        ordered tasks; here the shuffled orders are handled too.
        """
        current = set(self.steps[self.check_step(step)]) - {0}
        if not image_classes & current:
            return False
        if setting == 'overlap':
            return True
        if setting == 'disjoint':
            return image_classes <= self.seen_ids(step) | {0, IGNORE_INDEX}
        raise ConfigError(f"CISS setting must be 'overlap' or 'disjoint', got {setting!r}")


def get_task(dataset: str, task: str | list | tuple) -> CISSTask:
    """The task ``task`` of ``dataset`` (``'voc'``/``'ade'``): a predefined name, or custom steps.

    Raises:
        ConfigError: unknown dataset or task name, or a class id outside the dataset.
    """
    if dataset not in TASKS:
        raise ConfigError(f'unknown CISS dataset {dataset!r}; expected one of {sorted(TASKS)}')
    if isinstance(task, str):
        if task not in TASKS[dataset]:
            raise ConfigError(f'unknown {dataset} CISS task {task!r}; known tasks: {", ".join(TASKS[dataset])}')
        steps = TASKS[dataset][task]
        name = task
    elif isinstance(task, (list, tuple)) and all(isinstance(s, (list, tuple)) for s in task):
        steps = task
        name = 'custom'
    else:
        raise ConfigError(f'a CISS task is a name or a list of steps (lists of class ids), got {task!r}')
    return CISSTask(dataset, name, tuple(tuple(int(c) if isinstance(c, (int, np.integer)) else c for c in s)
                                         for s in steps))
