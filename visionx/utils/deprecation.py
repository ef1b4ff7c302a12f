"""Deprecated registry names: the old name keeps building the renamed class, with a warning."""
from __future__ import annotations

import warnings

from mmengine.registry import Registry


def register_deprecated_alias(registry: Registry, cls: type, old_name: str) -> type:
    """Register under ``old_name`` a subclass of ``cls`` that warns (``DeprecationWarning``) when built.

    Args:
        registry: the registry ``cls`` is registered in.
        cls: the class under its new name.
        old_name: the name configs used before the rename.

    Returns:
        The alias class (also importable under ``old_name`` for code that imported the old class).
    """

    def __init__(self, *args, **kwargs) -> None:
        warnings.warn(f'{registry.name} type {old_name!r} is deprecated; use {cls.__name__!r} (same class)',
                      DeprecationWarning, stacklevel=2)
        cls.__init__(self, *args, **kwargs)

    alias = type(old_name, (cls,), {'__init__': __init__, '__module__': cls.__module__,
                                     '__doc__': f'Deprecated alias of :class:`{cls.__name__}`.'})
    registry.register_module(name=old_name, module=alias)
    return alias
