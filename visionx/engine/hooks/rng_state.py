"""``RNGStateHook``: puts the random-number generators' states into checkpoints and restores them."""
from __future__ import annotations

import random

import numpy as np
import torch
from mmengine.hooks import Hook

from visionx.registry import HOOKS
from .rank_states import RankStates


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the Python, NumPy and torch (CPU and CUDA) RNG states of each rank; restore them on resume.

    MMEngine re-seeds at start-up but does not checkpoint the generators, so after ``--resume`` dropout
    masks and other random draws in the model differ from an uninterrupted run.  With this hook (added
    to every run by :class:`~visionx.engine.VisionXRunner`), a resumed run reproduces the uninterrupted
    run's weights exactly on a deterministic CPU setup.

    The states are applied after MMEngine has fast-forwarded the dataloader and before the first new batch
    is drawn (:class:`~visionx.engine.loops.ResumableIterBasedTrainLoop`, which ``VisionXRunner`` uses for
    iteration-based training, and :class:`~visionx.engine.loops.SelfDistillationLoop` call
    :meth:`apply_pending`); other loops fall back to the first ``before_train_iter``.  Dataloader workers
    are re-created on resume with their original seeds and the fast-forward replays their streams, so
    augmentation in workers resumes exactly too (for transforms whose randomness comes from the
    process's generators).

    In distributed runs every rank's states are saved (gathered just before the checkpoint hook, which runs
    after this one: priority 85, ``VERY_LOW`` is 90), and each rank restores its own; a ``load_from`` start
    (no resume) keeps the new run's seed.
    """

    priority = 85

    def __init__(self) -> None:
        self._pending: dict | None = None
        self._ranks = RankStates('rng_state')

    @staticmethod
    def capture() -> dict:
        state = dict(python=random.getstate(), numpy=np.random.get_state(),
                     torch=torch.get_rng_state())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda'] = torch.cuda.get_rng_state_all()
        return state

    @staticmethod
    def apply(state: dict) -> None:
        random.setstate(_to_python_state(state['python']))
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])

    def before_val(self, runner) -> None:
        self._before_val = self.capture()

    def after_val(self, runner) -> None:
        """Validation leaves the training generators as it found them.

        Checkpoints are written before the validation of the same iteration, and building the validation
        dataloader's iterator draws from torch's generator; without this a resumed run would be one draw
        behind from there on.  It also makes training independent of when (or whether) validation runs.
        """
        state = getattr(self, '_before_val', None)
        if state is not None:
            self.apply(state)
            self._before_val = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._ranks.gather(runner, self.capture())

    def after_train_epoch(self, runner) -> None:
        self._ranks.gather(runner, self.capture())

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self._ranks.write(runner, checkpoint, self.capture())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = self._ranks.read(runner, checkpoint)

    def apply_pending(self) -> bool:
        """Apply the states loaded from a checkpoint now, if not yet applied; return whether it did.

        MMEngine's loops fetch an iteration's batch before ``before_train_iter``, so the first batch after
        a resume is drawn from the un-restored generators.  A loop that calls this right after fast-forwarding
        its dataloader (:class:`~visionx.engine.loops.SelfDistillationLoop` does) also reproduces that batch's
        main-process random transforms.
        """
        if self._pending is None:
            return False
        self.apply(self._pending)
        self._pending = None
        return True

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self.apply_pending()


def _to_python_state(state):
    """``random.setstate`` needs tuples; a round trip through some serialisers yields lists."""
    version, internal, gauss = state
    return version, tuple(internal), gauss


def apply_pending_rng_states(runner) -> None:
    """Make every hook with checkpointed RNG states pending (:class:`RNGStateHook`) apply them now.

    Loops call this after fast-forwarding the dataloader on resume, before drawing the first new batch.
    """
    for hook in runner.hooks:
        if callable(getattr(hook, 'apply_pending', None)):
            hook.apply_pending()
