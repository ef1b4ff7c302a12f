"""Training progress shared between the schedule hook (engine) and the scheduled losses (models)."""
from __future__ import annotations

PROGRESS_KEY = 'topology_loss_progress'


def training_progress() -> float | None:
    """Fraction of training done, ``(iter + 1) / max_iters``, read from mmengine's ``MessageHub``.

    :class:`visionx.engine.hooks.TopologyLossScheduleHook` writes it under ``'topology_loss_progress'``;
    without the hook, the ``iter``/``max_iters`` that mmengine's ``RuntimeInfoHook`` writes are used.
    Returns ``None`` outside a runner.
    """
    from mmengine.logging import MessageHub
    hub = MessageHub.get_current_instance()
    progress = hub.get_info(PROGRESS_KEY)
    if progress is not None:
        return float(progress)
    it, max_iters = hub.get_info('iter'), hub.get_info('max_iters')
    if it is None or not max_iters:
        return None
    return (it + 1) / max_iters
