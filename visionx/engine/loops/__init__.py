"""Training and test loops."""
from .iter_based import ResumableIterBasedTrainLoop
from .repri import RePRITestLoop
from .self_distillation import SelfDistillationLoop

__all__ = ['RePRITestLoop', 'ResumableIterBasedTrainLoop', 'SelfDistillationLoop']
