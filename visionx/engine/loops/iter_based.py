"""``ResumableIterBasedTrainLoop``: MMEngine's iteration loop with the RNG states restored at the right time."""
from __future__ import annotations

from mmengine.runner import IterBasedTrainLoop

from visionx.registry import LOOPS
from ..hooks.rng_state import apply_pending_rng_states


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
