"""Per-rank states in checkpoints.

MMEngine writes checkpoints on rank 0 only (``Runner.save_checkpoint`` is ``master_only``), so a hook's
``before_save_checkpoint`` never runs on the other ranks and their states would be lost.  :class:`RankStates`
gathers every rank's state right before the checkpoint hook can save (after each training iteration and
epoch, and at the end of training; a small ``all_gather_object``, distributed runs only), and rank 0 writes
them all as ``meta['<key>_rank<r>']``.  On load, the state is restored only when the run *resumes*: a run
started from ``load_from`` keeps the random streams of its own seed.
"""
from __future__ import annotations

from typing import Any

from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.logging import print_log


class RankStates:
    """Collect, write and read one state per rank under ``meta['<key>_rank<r>']``."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._gathered: tuple[int, list] | None = None

    def gather(self, runner, state: Any) -> None:
        """Called on every rank at the same points (collective in distributed runs; a no-op otherwise)."""
        if get_world_size() > 1:
            self._gathered = (runner.iter, all_gather_object(state))

    def write(self, runner, checkpoint: dict, own_state: Any) -> None:
        """Rank 0's ``before_save_checkpoint``: every rank's state gathered at this iteration, else its own."""
        meta = checkpoint.setdefault('meta', {})
        if self._gathered is not None and self._gathered[0] == runner.iter:
            for rank, state in enumerate(self._gathered[1]):
                meta[f'{self.key}_rank{rank}'] = state
        else:
            meta[f'{self.key}_rank{get_rank()}'] = own_state

    def read(self, runner, checkpoint: dict) -> Any:
        """This rank's state when the run resumes from ``checkpoint``; None for ``load_from`` or if absent."""
        if not getattr(runner, '_resume', False):
            return None
        meta = checkpoint.get('meta', {})
        state = meta.get(f'{self.key}_rank{get_rank()}')
        if state is None and any(k.startswith(f'{self.key}_rank') for k in meta):
            print_log(f'{self.key}: the checkpoint has no state for rank {get_rank()} (written with fewer '
                      'ranks?); this rank continues from its seed', logger='current', level=30)
        return state
