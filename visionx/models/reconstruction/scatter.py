"""Scatter / segment operations with an optional ``torch_scatter`` backend.

GridFormer scatters point features into grid cells (``scatter_mean`` for the stem, ``scatter_add`` for the
attention values) and normalises attention weights over the points of each cell (``scatter_softmax``).
When the ``torch_scatter`` extension is installed it is used; otherwise the same maths is computed with
native ``Tensor.scatter_reduce`` / ``scatter_add``.  Both paths give the same outputs and gradients
(``tests/test_models/test_reconstruction/test_scatter.py``).

All functions scatter along the **last** dimension: ``src`` is (B, C, N) and ``index`` is (B, N) (or already
broadcast to (B, C, N)) holding cell ids in ``[0, dim_size)``; the result is (B, C, dim_size).
"""
from __future__ import annotations

import os

import torch

try:  # pragma: no cover - depends on the environment
    import torch_scatter as _ts
except ImportError:  # pragma: no cover
    _ts = None

_USE_TORCH_SCATTER = _ts is not None and os.environ.get('VISIONX_NO_TORCH_SCATTER', '0') != '1'


def torch_scatter_available() -> bool:
    """Whether the ``torch_scatter`` extension could be imported."""
    return _ts is not None


def set_scatter_backend(backend: str) -> None:
    """Select ``'torch_scatter'`` or ``'native'`` for every subsequent call (global switch).

    Raises:
        ValueError: unknown backend, or ``'torch_scatter'`` requested but not installed.
    """
    global _USE_TORCH_SCATTER
    if backend not in ('torch_scatter', 'native'):
        raise ValueError(f"scatter backend must be 'torch_scatter' or 'native', got {backend!r}")
    if backend == 'torch_scatter' and _ts is None:
        raise ValueError('scatter backend "torch_scatter" requested but torch_scatter is not installed')
    _USE_TORCH_SCATTER = backend == 'torch_scatter'


def get_scatter_backend() -> str:
    """The backend in use: ``'torch_scatter'`` or ``'native'``."""
    return 'torch_scatter' if _USE_TORCH_SCATTER else 'native'


def _expand_index(src: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    if index.dim() == src.dim() - 1:
        index = index.unsqueeze(-2)
    return index.expand_as(src)


def scatter_sum(src: torch.Tensor, index: torch.Tensor, dim_size: int) -> torch.Tensor:
    """Sum of ``src`` (B, C, N) per cell ``index`` (B, N) -> (B, C, dim_size); empty cells are 0."""
    index = _expand_index(src, index)
    out = src.new_zeros(*src.shape[:-1], dim_size)
    if _USE_TORCH_SCATTER:
        return _ts.scatter_add(src, index, dim=-1, out=out)
    return out.scatter_add(-1, index, src)


def scatter_mean(src: torch.Tensor, index: torch.Tensor, dim_size: int) -> torch.Tensor:
    """Mean of ``src`` (B, C, N) per cell ``index`` (B, N) -> (B, C, dim_size); empty cells are 0."""
    index = _expand_index(src, index)
    if _USE_TORCH_SCATTER:
        out = src.new_zeros(*src.shape[:-1], dim_size)
        return _ts.scatter_mean(src, index, dim=-1, out=out)
    total = src.new_zeros(*src.shape[:-1], dim_size).scatter_add(-1, index, src)
    count = src.new_zeros(*src.shape[:-1], dim_size).scatter_add(-1, index, torch.ones_like(src))
    return total / count.clamp(min=1)


def scatter_softmax(src: torch.Tensor, index: torch.Tensor, dim_size: int | None = None) -> torch.Tensor:
    """Softmax of ``src`` (B, C, N) over the points sharing a cell ``index`` (B, N); same shape as ``src``.

    The maximum per cell is subtracted first (numerically stable), exactly as ``torch_scatter`` does; the
    maximum itself carries no gradient in either backend.
    """
    index = _expand_index(src, index)
    if _USE_TORCH_SCATTER:
        return _ts.scatter_softmax(src, index, dim=-1)
    if dim_size is None:
        dim_size = int(index.max()) + 1 if index.numel() else 0
    shape = (*src.shape[:-1], dim_size)
    cell_max = src.new_full(shape, float('-inf')).scatter_reduce(
        -1, index, src.detach(), reduce='amax', include_self=True)
    exp = (src - cell_max.gather(-1, index)).exp()
    denom = src.new_zeros(shape).scatter_add(-1, index, exp)
    return exp / denom.gather(-1, index)
