"""Training-schedule hook for the scheduled TopoMortar topology losses (Warping, PersistentHomologyLoss)."""
from __future__ import annotations

from mmengine.hooks import Hook

from visionx.registry import HOOKS
from visionx.utils.progress import PROGRESS_KEY


@HOOKS.register_module()
class TopologyLossScheduleHook(Hook):
    """Publish the training progress ``(iter + 1) / max_iters`` in mmengine's ``MessageHub``.

    Scheduled losses (``WarpingLoss``, ``PersistentHomologyLoss``) switch their topology term on once this progress
    exceeds their ``start_fraction`` (TopoMortar: ``it > 0.7 * iterations``).  Without this hook they fall
    back to the ``iter``/``max_iters`` of mmengine's ``RuntimeInfoHook``; the hook adds ``total_iters`` to
    schedule against another length than the runner's (e.g. one self-distillation round) and logs the
    iteration at which the terms switch on.

    Loops that train in cycles expose ``schedule_window = (first iteration, length)`` of the current cycle
    (:class:`~visionx.engine.loops.SelfDistillationLoop`: the current round); the progress is then measured
    within it, ``(iter - first + 1) / length``, so the topology terms switch on at 70 % of every round, as
    when TopoMortar's self-distillation restarts its training loop each round [inferred].

    Args:
        total_iters: length of the schedule the losses follow; defaults to the runner's ``max_iters``.
        start_fraction: only used for the log message announcing the switch (0.7).
    """

    priority = 'VERY_HIGH'

    def __init__(self, total_iters: int | None = None, start_fraction: float = 0.7) -> None:
        if total_iters is not None and total_iters <= 0:
            raise ValueError(f'total_iters must be positive, got {total_iters}')
        self.total_iters = total_iters
        self.start_fraction = start_fraction
        self._announced: int | None = None  # first iteration of the cycle whose switch was logged

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        begin, length = getattr(runner.train_loop, 'schedule_window', None) or (0, runner.max_iters)
        total = self.total_iters or length
        progress = (runner.iter - begin + 1) / total
        runner.message_hub.update_info(PROGRESS_KEY, progress)
        if self._announced != begin and progress > self.start_fraction:
            self._announced = begin
            runner.logger.info(f'topology loss terms with start_fraction={self.start_fraction} are on '
                               f'from iteration {runner.iter - begin + 1} of {total}'
                               + (f' (cycle starting at iteration {begin})' if begin else ''))

    def after_train(self, runner) -> None:
        runner.message_hub.pop_info(PROGRESS_KEY, None)
