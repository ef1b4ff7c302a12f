"""Training-schedule hook for the scheduled TopoMortar topology losses (Warping, PersistentHomologyLoss)."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from visionx.registry import HOOKS
from visionx.utils.progress import PROGRESS_KEY


@HOOKS.register_module()
class TopologyLossScheduleHook(Hook):
    """Publish the training progress ``(iter + 1) / max_iters`` in mmengine's ``MessageHub``.

    Scheduled losses (``WarpingLoss``, ``PersistentHomologyLoss``) switch their topology term on once this progress
    exceeds their own ``start_fraction`` (TopoMortar: ``it > 0.7 * iterations``); the switch-on point is set on
    the loss only (``model.loss=dict(type='WarpingLoss', start_fraction=0.7)``).  Without this hook they fall
    back to the ``iter``/``max_iters`` of mmengine's ``RuntimeInfoHook``; the hook adds ``total_iters`` to
    schedule against another length than the runner's (e.g. one self-distillation round) and logs, for each
    module of the model that has a ``start_fraction``, the iteration at which its term switches on.

    Loops that train in cycles expose ``schedule_window = (first iteration, length)`` of the current cycle
    (:class:`~visionx.engine.loops.SelfDistillationLoop`: the current round); the progress is then measured
    within it, ``(iter - first + 1) / length``, so the topology terms switch on at 70 % of every round, as
    when TopoMortar's self-distillation restarts its training loop each round [inferred].

    Args:
        total_iters: length of the schedule the losses follow; defaults to the runner's ``max_iters``.

    Raises:
        TypeError: for ``start_fraction`` (it belongs to the loss) or any other unknown argument.
    """

    priority = 'VERY_HIGH'

    def __init__(self, total_iters: int | None = None, **unknown) -> None:
        if 'start_fraction' in unknown:
            raise TypeError('TopologyLossScheduleHook takes no start_fraction: the switch-on point is the scheduled '
                            "loss's own argument, e.g. model.loss=dict(type='WarpingLoss', start_fraction=0.7); "
                            'remove it from custom_hooks')
        if unknown:
            raise TypeError(f'TopologyLossScheduleHook got unexpected arguments {sorted(unknown)}; '
                            'it accepts only total_iters')
        if total_iters is not None and total_iters <= 0:
            raise ValueError(f'total_iters must be positive, got {total_iters}')
        self.total_iters = total_iters
        self._scheduled: list[tuple[str, str, float]] = []  # (module path, class name, start_fraction)
        self._announced: set[tuple[int, str]] = set()  # (first iteration of the cycle, module path) logged

    @staticmethod
    def scheduled_losses(model) -> list[tuple[str, str, float]]:
        """``(module path, class name, start_fraction)`` of every module of ``model`` with a ``start_fraction``.

        Args:
            model: the runner's model, possibly wrapped (DDP / FSDP wrappers are unwrapped).
        """
        if is_model_wrapper(model):
            model = model.module
        return [(name or 'model', type(module).__name__, float(module.start_fraction))
                for name, module in model.named_modules() if hasattr(module, 'start_fraction')]

    def before_train(self, runner) -> None:
        self._scheduled = self.scheduled_losses(runner.model)
        self._announced.clear()
        if not self._scheduled:
            runner.logger.info('TopologyLossScheduleHook: no module of the model has a start_fraction; '
                               'only the training progress is published')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        begin, length = getattr(runner.train_loop, 'schedule_window', None) or (0, runner.max_iters)
        total = self.total_iters or length
        progress = (runner.iter - begin + 1) / total
        runner.message_hub.update_info(PROGRESS_KEY, progress)
        for name, cls, fraction in self._scheduled:
            if (begin, name) in self._announced or not progress > fraction:
                continue
            self._announced.add((begin, name))
            runner.logger.info(f'{cls} ({name}) with start_fraction={fraction:g}: its topology term is on '
                               f'after {fraction:.0%} of the schedule, from iteration {runner.iter - begin + 1} '
                               f'of {total}' + (f' (cycle starting at iteration {begin})' if begin else ''))

    def after_train(self, runner) -> None:
        runner.message_hub.pop_info(PROGRESS_KEY, None)
