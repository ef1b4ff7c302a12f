"""Training loops."""
from .self_distillation import SelfDistillationLoop

__all__ = ['SelfDistillationLoop']
