"""``ResumableIterBasedTrainLoop``: MMEngine's iteration loop with the RNG states restored at the right time."""
from __future__ import annotations

import logging

from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop

from visionx.registry import LOOPS
from ..hooks.rng_state import apply_pending_rng_states


class InfiniteDataloaderIterator:
    """Iterate a dataloader forever, starting a new epoch (``sampler.set_epoch``) whenever it runs out.

    What MMEngine's ``IterBasedTrainLoop`` does with its private ``_InfiniteDataloaderIterator``, for loops
    that build their own dataloaders (:class:`~visionx.engine.loops.SelfDistillationLoop`).  An
    ``InfiniteSampler`` never runs out, so this matters only for finite samplers.
    """

    def __init__(self, dataloader) -> None:
        self._dataloader = dataloader
        self._iterator = iter(dataloader)
        self._epoch = 0

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._iterator)
        except StopIteration:
            print_log('the training dataloader ran out: starting a new epoch (an InfiniteSampler avoids '
                      'restarting its workers)', logger='current', level=logging.WARNING)
            self._epoch += 1
            sampler = getattr(self._dataloader, 'sampler', None)
            if not hasattr(sampler, 'set_epoch'):
                sampler = getattr(getattr(self._dataloader, 'batch_sampler', None), 'sampler', None)
            if hasattr(sampler, 'set_epoch'):
                sampler.set_epoch(self._epoch)
            self._iterator = iter(self._dataloader)
            return next(self._iterator)


class _RestoreBeforeNext:
    """Iterator proxy that restores the checkpointed RNG states just before batch ``skip + 1`` is drawn."""

    def __init__(self, iterator, skip: int, restore) -> None:
        self._iterator, self._left, self._restore = iterator, skip, restore

    def __iter__(self):
        return self

    def __next__(self):
        if self._left == 0:
            self._restore()
            self._left = -1
        elif self._left > 0:
            self._left -= 1
        return next(self._iterator)

    def __getattr__(self, name):
        return getattr(self._iterator, name)


@LOOPS.register_module()
class ResumableIterBasedTrainLoop(IterBasedTrainLoop):
    """``IterBasedTrainLoop`` whose resume reproduces an uninterrupted run, also with ``num_workers=0``.

    On resume MMEngine fast-forwards the dataloader by the trained iterations (replaying the data
    pipeline) and only then fetches the first new batch.  :class:`~visionx.engine.hooks.RNGStateHook`
    used to restore the checkpointed Python / NumPy / torch generators in ``before_train_iter``, i.e.
    *after* that batch was drawn, so random transforms running in the main process (``num_workers=0``)
    drew it from the replayed stream and every later batch from a shifted one.  This loop restores the
    states right after the fast-forward, before the first new batch.  With dataloader workers nothing
    changes (their streams are replayed by the fast-forward).  :class:`~visionx.engine.VisionXRunner`
    uses it in place of ``IterBasedTrainLoop``.
    """

    def run(self):
        if self._iter > 0:
            self.dataloader_iterator = _RestoreBeforeNext(self.dataloader_iterator, self._iter,
                                                          lambda: apply_pending_rng_states(self.runner))
        return super().run()
