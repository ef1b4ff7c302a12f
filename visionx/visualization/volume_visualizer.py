"""Volume visualiser (TraCoCo, 3-D medical): mid-slice overlays in the three planes."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from mmengine.visualization import Visualizer
from scipy import ndimage

from visionx.registry import VISUALIZERS
from visionx.utils import atomic_path

# class 1, 2, ... of the prediction overlay; the ground-truth contour is drawn in GT_COLOUR
PRED_PALETTE = ((230, 40, 40), (40, 90, 230), (240, 200, 20), (200, 40, 200), (20, 200, 200))
GT_COLOUR = (40, 220, 40)
PLANES = ('axial', 'coronal', 'sagittal')


def mid_slices(volume: np.ndarray) -> list[np.ndarray]:
    """The middle axial, coronal and sagittal slices of an (X, Y, Z) array.

    Axial is the (X, Y) slice at Z // 2, coronal the (X, Z) slice at Y // 2, sagittal the (Y, Z) slice at
    X // 2 (the LA / Pancreas / BraTS volumes are stored (X, Y, Z) with Z the slice axis).
    """
    x, y, z = volume.shape
    return [volume[:, :, z // 2], volume[:, y // 2, :], volume[x // 2, :, :]]


def _to_grey(image: np.ndarray) -> np.ndarray:
    """(H, W) float slice -> (H, W, 3) uint8, min-max scaled over the slice."""
    image = np.asarray(image, np.float64)
    lo, hi = float(image.min()), float(image.max())
    grey = np.zeros_like(image) if hi <= lo else (image - lo) / (hi - lo) * 255
    return np.repeat(np.round(grey).astype(np.uint8)[..., None], 3, axis=2)


def overlay_slice(image: np.ndarray, pred: np.ndarray, gt: np.ndarray | None = None, alpha: float = 0.5,
                  palette: Sequence[tuple[int, int, int]] = PRED_PALETTE) -> np.ndarray:
    """One (H, W) slice with the predicted classes blended in and the ground-truth boundary drawn on top.

    Args:
        image: (H, W) intensities.
        pred: (H, W) integer labels; class c > 0 gets ``palette[(c - 1) % len(palette)]``.
        gt: Optional (H, W) labels; pixels of a foreground region that touch another label (4-neighbours)
            are painted :data:`GT_COLOUR`.
        alpha: Opacity of the prediction colours.

    Returns:
        (H, W, 3) uint8 RGB.
    """
    out = _to_grey(image).astype(np.float64)
    pred = np.asarray(pred)
    for c in np.unique(pred[pred > 0]):
        colour = np.array(palette[(int(c) - 1) % len(palette)], np.float64)
        m = pred == c
        out[m] = (1 - alpha) * out[m] + alpha * colour
    if gt is not None:
        gt = np.asarray(gt)
        eroded = ndimage.grey_erosion(gt, footprint=ndimage.generate_binary_structure(2, 1), mode='nearest')
        dilated = ndimage.grey_dilation(gt, footprint=ndimage.generate_binary_structure(2, 1), mode='nearest')
        out[(gt > 0) & ((eroded != gt) | (dilated != gt))] = GT_COLOUR
    return np.round(out).astype(np.uint8)


def _fit(panel: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour upscale of an (h, w, 3) panel to fit ``size`` x ``size``, centred on black."""
    h, w = panel.shape[:2]
    scale = size / max(h, w)
    rows = np.minimum((np.arange(int(round(h * scale))) / scale).astype(np.int64), h - 1)
    cols = np.minimum((np.arange(int(round(w * scale))) / scale).astype(np.int64), w - 1)
    resized = panel[rows][:, cols]
    out = np.zeros((size, size, 3), np.uint8)
    top, left = (size - resized.shape[0]) // 2, (size - resized.shape[1]) // 2
    out[top:top + resized.shape[0], left:left + resized.shape[1]] = resized
    return out


def draw_volume(volume: np.ndarray, pred: np.ndarray, gt: np.ndarray | None = None, panel_size: int = 256,
                alpha: float = 0.5) -> np.ndarray:
    """Axial | coronal | sagittal mid-slice overlays of a prediction (and its ground truth) on a volume.

    Args:
        volume: (X, Y, Z) intensities (or (1, X, Y, Z)).
        pred: (X, Y, Z) integer labels.
        gt: Optional (X, Y, Z) labels, drawn as contours.
        panel_size: Side of each square panel (slices are upscaled, aspect kept).
        alpha: Opacity of the prediction colours.

    Returns:
        (panel_size, 3 * panel_size, 3) uint8 RGB image.
    """
    volume = np.asarray(volume)
    if volume.ndim == 4 and volume.shape[0] == 1:
        volume = volume[0]
    pred = np.asarray(pred)
    if volume.ndim != 3 or pred.shape != volume.shape or (gt is not None and np.shape(gt) != volume.shape):
        raise ValueError(f'draw_volume needs (X, Y, Z) volume, prediction and label of one shape, got '
                         f'{volume.shape}, {pred.shape}, {None if gt is None else np.shape(gt)}')
    gts = mid_slices(np.asarray(gt)) if gt is not None else [None] * 3
    panels = [_fit(overlay_slice(v, p, g, alpha), panel_size)
              for v, p, g in zip(mid_slices(volume), mid_slices(pred), gts)]
    return np.concatenate(panels, axis=1)


@VISUALIZERS.register_module()
class VolumeVisualizer(Visualizer):
    """Visualiser of 3-D segmentations: one PNG of the three mid-slice planes (:func:`draw_volume`).

    Args:
        name: Instance name (mmengine ``ManagerMixin``).
        panel_size: Side of each plane's panel in pixels.
        alpha: Opacity of the prediction overlay.
        pred_key: Field of the data sample holding the (X, Y, Z) prediction (TraCoCo: ``pred_label``).
        **kwargs: :class:`mmengine.visualization.Visualizer` arguments (``vis_backends``, ``save_dir``).
    """

    def __init__(self, name: str = 'volume_visualizer', panel_size: int = 256, alpha: float = 0.5,
                 pred_key: str = 'pred_label', **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if panel_size < 16:
            raise ValueError(f'panel_size must be at least 16 pixels, got {panel_size}')
        if not 0 <= alpha <= 1:
            raise ValueError(f'alpha must be in [0, 1], got {alpha}')
        self.panel_size, self.alpha, self.pred_key = panel_size, alpha, pred_key

    def add_datasample(self, name: str, image: np.ndarray, data_sample: Any = None, draw_gt: bool = True,
                       draw_pred: bool = True, show: bool = False, wait_time: float = 0,
                       out_file: str | None = None, step: int = 0) -> np.ndarray:
        """Draw ``data_sample.<pred_key>`` (and ``gt_label`` if ``draw_gt``) over ``image`` (X, Y, Z).

        Returns:
            The (panel_size, 3 * panel_size, 3) RGB drawing, also written to ``out_file`` (atomically) or
            given to the vis backends.
        """
        def field(key):
            value = data_sample.get(key) if data_sample is not None else None
            return value.detach().cpu().numpy() if hasattr(value, 'detach') else value

        pred = field(self.pred_key) if draw_pred else None
        gt = field('gt_label') if draw_gt else None
        image = image.detach().cpu().numpy() if hasattr(image, 'detach') else np.asarray(image)
        if pred is None:
            pred = np.zeros(image.shape[-3:], np.uint8)
        drawn = draw_volume(image, pred, gt, self.panel_size, self.alpha)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            import mmcv
            with atomic_path(Path(out_file)) as tmp:
                mmcv.imwrite(drawn[..., ::-1], str(tmp))
        else:
            self.add_image(name, drawn, step)
        return drawn
