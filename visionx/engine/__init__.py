"""Runner components: runner, hooks, loops, optimizer wrappers."""
from . import hooks, loops, optimizers  # noqa: F401
from .runner import VisionXRunner, build_runner

__all__ = ['VisionXRunner', 'build_runner']
