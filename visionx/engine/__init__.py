"""Runner components: runner, hooks, loops, optimizer wrappers."""
from . import hooks, loops, optimizers  # noqa: F401
from .incremental import IncrementalRunner
from .runner import VisionXRunner, build_runner

__all__ = ['IncrementalRunner', 'VisionXRunner', 'build_runner']
