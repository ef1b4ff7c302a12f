"""Edge and body masks of BPKD (WACV 2024), computed from the ground truth on the device.

METHODS.md part B §1.3: a per-class morphological gradient of the one-hot ground truth with a k×k square
structuring element, average-pooled to the logit resolution, gives a soft class-wise edge mask ``M_E``; the
body mask is ``1 - M_E``.

Choices where the paper could not be checked (**UNVERIFIED**, the official training code was never released):

- ``kernel_size`` 7 (both third-party re-implementations: ``boundary_radius=3`` / ``edge_kernel_size=7``).
- Ignore pixels are zero in every class channel of the one-hot map (as in both re-implementations), so a class
  that touches an ignore region has an edge on its own side of that border; the ignore pixels themselves are
  removed from the edge mask ("ignore pixels excluded").  Image borders are not edges: the erosion's max-pool
  pads with ``-inf``, i.e. only pixels inside the image are looked at.
- Down-sampling is ``adaptive_avg_pool2d`` to the logit size; when the label size is a multiple of the logit
  size (mmseg pads images and labels to the crop size, logits are 1/4 or 1/8 of it) this is the average pool
  with kernel = stride = output stride of METHODS.md.

Only the classes present in the batch are one-hot encoded (one ``torch.unique``), so memory and time scale with
the present classes, not with the 150 of ADE20K, and no Python loop runs over classes.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

__all__ = ['class_edge_map', 'edge_body_masks', 'pool_mask']


def _check_kernel(kernel_size: int) -> int:
    if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f'kernel_size must be a positive odd integer (a centred k×k square), got {kernel_size!r}')
    return kernel_size


def class_edge_map(seg_label: torch.Tensor, num_classes: int, kernel_size: int = 7,
                   ignore_index: int = 255) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class morphological gradient of the one-hot ground truth, for the classes present only.

    ``E_c = dilate_k(Y_c) - erode_k(Y_c)`` with dilation a k×k max-pool (stride 1) and erosion
    ``1 - maxpool(1 - Y_c)``, then zeroed on ignore pixels.

    Args:
        seg_label: (B, H, W) integer labels in ``[0, num_classes)`` or ``ignore_index``.
        num_classes: number of classes C.
        kernel_size: odd side k of the square structuring element.
        ignore_index: label of ignored pixels.

    Returns:
        ``(edges, classes)``: (B, K, H, W) float {0, 1} edges of the K classes present in the batch, and the
        (K,) long tensor of those class indices (sorted).

    Raises:
        ValueError: a label outside ``[0, num_classes)`` that is not ``ignore_index``; a bad ``kernel_size``;
            ``seg_label`` is not 3-D.
    """
    _check_kernel(kernel_size)
    if seg_label.dim() != 3:
        raise ValueError(f'seg_label must be (B, H, W), got shape {tuple(seg_label.shape)}')
    label = seg_label.long()
    valid = label != ignore_index
    classes = torch.unique(label[valid])
    if classes.numel() and (classes[0] < 0 or classes[-1] >= num_classes):
        raise ValueError(f'labels must lie in [0, {num_classes}) or equal ignore_index={ignore_index}; '
                         f'found {classes[(classes < 0) | (classes >= num_classes)].tolist()}')
    # (B, K, H, W) one-hot restricted to the present classes; ignore pixels match no class.
    onehot = (label.unsqueeze(1) == classes.view(1, -1, 1, 1)).float()
    pad = kernel_size // 2
    dilated = F.max_pool2d(onehot, kernel_size, stride=1, padding=pad)
    eroded = 1.0 - F.max_pool2d(1.0 - onehot, kernel_size, stride=1, padding=pad)
    edges = (dilated - eroded).clamp_(0.0, 1.0) * valid.unsqueeze(1).float()
    return edges, classes


def pool_mask(mask: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Average-pool a (B, K, H, W) mask to ``size`` = (h, w) (``adaptive_avg_pool2d``)."""
    size = (int(size[0]), int(size[1]))
    if tuple(mask.shape[-2:]) == size:
        return mask
    return F.adaptive_avg_pool2d(mask, size)


def edge_body_masks(seg_label: torch.Tensor, num_classes: int, size: Sequence[int], kernel_size: int = 7,
                    ignore_index: int = 255) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft class-wise edge mask ``M_E`` and body mask ``M_B = 1 - M_E`` at the logit resolution.

    Args:
        seg_label: (B, H, W) integer labels (label resolution).
        num_classes: number of classes C (channels of the logits).
        size: (h, w) of the logits.
        kernel_size: odd side k of the structuring element.
        ignore_index: label of ignored pixels.

    Returns:
        ``(edge, body)``, each (B, C, h, w) in [0, 1]; classes absent from the batch have ``edge = 0``,
        ``body = 1``.
    """
    edges, classes = class_edge_map(seg_label, num_classes, kernel_size, ignore_index)
    b = seg_label.shape[0]
    h, w = int(size[0]), int(size[1])
    edge = edges.new_zeros((b, num_classes, h, w))
    if classes.numel():
        edge[:, classes] = pool_mask(edges, (h, w))
    return edge, 1.0 - edge
