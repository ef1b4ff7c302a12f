"""Two-stream batch sampler: every batch holds labelled and unlabelled samples (TraCoCo, UA-MT)."""
from __future__ import annotations

from typing import Iterator

import numpy as np
from mmengine.dist import get_dist_info
from torch.utils.data import Sampler

from visionx.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class TwoStreamBatchSampler(Sampler):
    """Batches of ``labeled_batch_size`` labelled indices followed by ``batch_size − labeled_batch_size``
    unlabelled ones.

    One pass ("epoch") walks a fresh permutation of the labelled indices once; the unlabelled indices are
    drawn from an endless chain of permutations, as in the official sampler.  ``len`` is therefore
    ``len(labeled) // labeled_batch_size`` (one TraCoCo "epoch" = ``labeled_num // 2`` iterations).

    Args:
        sampler: The dataloader's sampler; only its ``dataset`` (which must expose ``labeled_indices`` and
            ``unlabeled_indices``) and ``seed`` are used.
        batch_size: Total batch size (4 in the paper).
        labeled_batch_size: Labelled samples per batch (2 in the paper).
        seed: Random seed; defaults to the sampler's seed (0 if it has none).

    In distributed runs each rank takes every ``world_size``-th batch.
    """

    def __init__(self, sampler: Sampler, batch_size: int, labeled_batch_size: int = 2,
                 seed: int | None = None) -> None:
        self.sampler = sampler  # read by MMEngine's DistSamplerSeedHook
        dataset = getattr(sampler, 'dataset', sampler)
        if not hasattr(dataset, 'labeled_indices'):
            raise ValueError('TwoStreamBatchSampler needs a dataset with labeled_indices / unlabeled_indices '
                             f'(e.g. LAHeartDataset), got {type(dataset).__name__}')
        if not 0 < labeled_batch_size <= batch_size:
            raise ValueError(f'need 0 < labeled_batch_size <= batch_size, got {labeled_batch_size}, {batch_size}')
        self.labeled = list(dataset.labeled_indices)
        self.unlabeled = list(dataset.unlabeled_indices)
        self.batch_size, self.labeled_batch_size = batch_size, labeled_batch_size
        self.unlabeled_batch_size = batch_size - labeled_batch_size
        if len(self.labeled) < labeled_batch_size:
            raise ValueError(f'{len(self.labeled)} labelled cases cannot fill {labeled_batch_size} per batch')
        if self.unlabeled_batch_size and not self.unlabeled:
            raise ValueError('the batch asks for unlabelled samples but the dataset has none; lower labeled_num '
                             'or set labeled_batch_size = batch_size')
        self.seed = seed if seed is not None else (getattr(sampler, 'seed', None) or 0)
        self.rank, self.world_size = get_dist_info()
        self.epoch = 0

    def _unlabeled_stream(self, rng: np.random.Generator) -> Iterator[int]:
        while True:
            yield from rng.permutation(self.unlabeled).tolist()

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng(self.seed + self.epoch)
        self.epoch += 1
        primary = rng.permutation(self.labeled).tolist()
        stream = self._unlabeled_stream(rng) if self.unlabeled_batch_size else iter(())
        for b in range(len(primary) // self.labeled_batch_size):
            batch = primary[b * self.labeled_batch_size:(b + 1) * self.labeled_batch_size]
            batch += [next(stream) for _ in range(self.unlabeled_batch_size)]
            if b % self.world_size == self.rank:
                yield batch

    def __len__(self) -> int:
        n = len(self.labeled) // self.labeled_batch_size
        return (n - self.rank + self.world_size - 1) // self.world_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
