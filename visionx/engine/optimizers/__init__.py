"""Optimizer wrappers and their constructors."""
from .auto_amp import AutoAmpOptimWrapper, amp_available
from .co_training import CoTrainingOptimWrapperConstructor

__all__ = ['AutoAmpOptimWrapper', 'CoTrainingOptimWrapperConstructor', 'amp_available']
