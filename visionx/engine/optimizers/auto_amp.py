"""An optimizer wrapper that trains with automatic mixed precision where an accelerator is present."""
from __future__ import annotations

from contextlib import contextmanager

import torch
from mmengine.device import is_cuda_available, is_mlu_available, is_musa_available, is_npu_available
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from visionx.registry import OPTIM_WRAPPERS


def amp_available() -> bool:
    """Whether mmengine's ``AmpOptimWrapper`` can run here (CUDA, NPU, MLU or MUSA device)."""
    return is_cuda_available() or is_npu_available() or is_mlu_available() or is_musa_available()


@OPTIM_WRAPPERS.register_module()
class AutoAmpOptimWrapper(AmpOptimWrapper):
    """``AmpOptimWrapper`` on an accelerator, plain ``OptimWrapper`` on CPU.

    Papers such as TopoMortar train with AMP (autocast + dynamic loss scaling) on a GPU; the configs that
    reproduce them use this wrapper so that the same config trains with AMP on a GPU and in fp32 on CPU
    (where mmengine's ``AmpOptimWrapper`` refuses to start).  The choice is made once, when the wrapper is
    built, and logged.  A checkpoint written on a GPU (with a ``loss_scaler`` state) resumes on CPU and the
    other way round.

    Args:
        loss_scale: as ``AmpOptimWrapper`` (``'dynamic'``, a float or a ``GradScaler`` dict).
        dtype: autocast dtype (``None``: float16 on CUDA).
        use_fsdp: as ``AmpOptimWrapper``.
        **kwargs: ``OptimWrapper`` arguments (``optimizer``, ``clip_grad``, ``accumulative_counts``).
    """

    def __init__(self, loss_scale: str | float | dict = 'dynamic', dtype: str | torch.dtype | None = None,
                 use_fsdp: bool = False, **kwargs) -> None:
        self.amp_enabled = amp_available()
        if self.amp_enabled:
            super().__init__(loss_scale=loss_scale, dtype=dtype, use_fsdp=use_fsdp, **kwargs)
        else:
            OptimWrapper.__init__(self, **kwargs)
            self._scale_update_param = None
            self.cast_dtype = None
        print_log(f'AutoAmpOptimWrapper: mixed precision {"on" if self.amp_enabled else "off (no accelerator)"}',
                  logger='current')

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        if self.amp_enabled:
            return super().backward(loss, **kwargs)
        return OptimWrapper.backward(self, loss, **kwargs)

    def step(self, **kwargs) -> None:
        if self.amp_enabled:
            return super().step(**kwargs)
        return OptimWrapper.step(self, **kwargs)

    def state_dict(self) -> dict:
        if self.amp_enabled:
            return super().state_dict()
        return OptimWrapper.state_dict(self)

    def load_state_dict(self, state_dict: dict) -> None:
        if self.amp_enabled:
            if 'loss_scaler' not in state_dict:  # written in fp32: keep the fresh scaler
                return OptimWrapper.load_state_dict(self, state_dict)
            return super().load_state_dict(state_dict)
        state_dict = dict(state_dict)
        state_dict.pop('loss_scaler', None)
        return OptimWrapper.load_state_dict(self, state_dict)

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        if self.amp_enabled:
            with super().optim_context(model):
                yield
        else:
            with OptimWrapper.optim_context(self, model):
                yield
