"""What every VisionX loss shares: the mmseg plumbing (``loss_weight``, ``reduction``, ``loss_name``).

Reduction itself is mmseg's :func:`mmseg.models.losses.utils.weight_reduce_loss` (re-exported here).
"""
from __future__ import annotations

from typing import Sequence

import torch.nn as nn
from mmseg.models.losses.utils import weight_reduce_loss

__all__ = ['BaseLoss', 'check_loss_name', 'weight_reduce_loss']


def check_loss_name(loss_name: str) -> str:
    """Return ``loss_name`` if it starts with ``loss_`` (mmseg's ``parse_losses`` sums only those)."""
    if not isinstance(loss_name, str) or not loss_name.startswith('loss_'):
        raise ValueError(f"loss_name must start with 'loss_' (mmseg sums only those), got {loss_name!r}")
    return loss_name


class BaseLoss(nn.Module):
    """Base of the registered VisionX losses: validated ``loss_weight``, ``reduction`` and ``loss_name``.

    Args:
        loss_weight: multiplier of the loss.
        reduction: one of ``reductions``.
        loss_name: key of the loss in the loss dict; must start with ``loss_``.
        reductions: the reductions the subclass supports.
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean', loss_name: str = 'loss',
                 reductions: Sequence[str] = ('none', 'mean', 'sum')) -> None:
        super().__init__()
        if reduction not in reductions:
            raise ValueError(f'{type(self).__name__}: reduction must be one of {tuple(reductions)}, '
                             f'got {reduction!r}')
        self.loss_weight = loss_weight
        self.reduction = reduction
        self._loss_name = check_loss_name(loss_name)

    @property
    def loss_name(self) -> str:
        """Name under which mmseg logs this loss."""
        return self._loss_name
