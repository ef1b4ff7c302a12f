"""Optimizer-wrapper constructors."""
from .co_training import CoTrainingOptimWrapperConstructor

__all__ = ['CoTrainingOptimWrapperConstructor']
