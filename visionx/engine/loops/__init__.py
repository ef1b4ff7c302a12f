"""Training loops."""
from .iter_based import ResumableIterBasedTrainLoop
from .self_distillation import SelfDistillationLoop

__all__ = ['ResumableIterBasedTrainLoop', 'SelfDistillationLoop']
