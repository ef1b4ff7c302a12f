"""Optimizer-wrapper constructor for co-training models: one optimizer per named sub-network."""
from __future__ import annotations

import copy

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from torch import nn

from visionx.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class CoTrainingOptimWrapperConstructor:
    """Build an :class:`~mmengine.optim.OptimWrapperDict` with one wrapper per sub-module.

    Config example (TraCoCo: two SGD optimizers, one per network)::

        optim_wrapper = dict(
            constructor='CoTrainingOptimWrapperConstructor',
            net1=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
            net2=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9)))

    Each key names an attribute of the model; its value is an ordinary optimizer-wrapper config (with an
    optional ``paramwise_cfg``) handed to :class:`DefaultOptimWrapperConstructor`.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        if not isinstance(optim_wrapper_cfg, dict) or not optim_wrapper_cfg:
            raise ValueError('optim_wrapper must map sub-module names to optimizer-wrapper configs, got '
                             f'{optim_wrapper_cfg!r}')
        if paramwise_cfg is not None:
            raise ValueError('give paramwise_cfg inside each sub-module entry, not at the top level')
        bad = {k: v for k, v in optim_wrapper_cfg.items() if not isinstance(v, dict)}
        if bad:
            raise ValueError(f'optim_wrapper entries must be optimizer-wrapper configs of sub-modules; {bad} are not '
                             '(a wrapper type goes inside each entry: net1=dict(type=..., optimizer=...))')
        self.cfgs = copy.deepcopy(dict(optim_wrapper_cfg))

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        wrappers = {}
        for name, cfg in self.cfgs.items():
            if not hasattr(model, name):
                raise ValueError(f'optim_wrapper names sub-module {name!r}, which the model lacks')
            cfg = copy.deepcopy(dict(cfg))
            paramwise = cfg.pop('paramwise_cfg', None)
            try:
                wrappers[name] = DefaultOptimWrapperConstructor(cfg, paramwise)(getattr(model, name))
            except (TypeError, ValueError, KeyError, AssertionError) as exc:
                from visionx.utils import ConfigError
                raise ConfigError(f'optim_wrapper.{name}: {type(exc).__name__}: {exc}') from exc
        return OptimWrapperDict(**wrappers)
