"""TopoMortar visualiser: pixel errors and the structures whose topology the prediction gets wrong."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from mmseg.visualization import SegLocalVisualizer
from scipy import ndimage

from visionx.utils.topology import betti_numbers
from visionx.registry import VISUALIZERS
from visionx.utils import atomic_path

# codes of :func:`topology_error_map`
BACKGROUND, TRUE_POSITIVE, FALSE_POSITIVE, FALSE_NEGATIVE, TOPO_FALSE_POSITIVE, TOPO_FALSE_NEGATIVE = range(6)
ERROR_COLOURS = {
    TRUE_POSITIVE: (255, 255, 255),       # white: correct foreground
    FALSE_POSITIVE: (255, 60, 60),        # red: extra pixels that leave the topology intact
    FALSE_NEGATIVE: (60, 120, 255),       # blue: missed pixels that leave the topology intact
    TOPO_FALSE_POSITIVE: (255, 230, 0),   # yellow: extra pixels of a structure with wrong topology
    TOPO_FALSE_NEGATIVE: (255, 0, 255),   # magenta: missed pixels of a structure with wrong topology
}
BOX_COLOUR = (255, 140, 0)  # orange frame around each structure with a Betti-number mismatch


def topology_error_map(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, list[tuple[slice, slice]]]:
    """Classify every pixel of a binary prediction against its label, topology-aware.

    The image is cut into *structures*, the 8-connected components of ``pred | gt``
    (``skimage.measure.label``).  A structure breaks the topology if the Betti numbers (b0, b1) of the
    prediction inside it differ from those of the label inside it (:func:`betti_numbers`): a broken link
    (one label component, two predicted), a bridge between two label components, a spurious or a missed
    component, or an extra or a missing hole.  Wrong pixels of such structures get the ``TOPO_*`` codes,
    wrong pixels of the other structures the plain ``FALSE_*`` codes.

    Args:
        pred: (H, W) binary prediction.
        gt: (H, W) binary label.

    Returns:
        The (H, W) uint8 code map (``BACKGROUND`` ... ``TOPO_FALSE_NEGATIVE``) and the bounding-box slices
        of the structures that break the topology.
    """
    from skimage.measure import label
    pred, gt = np.asarray(pred) > 0, np.asarray(gt) > 0
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f'prediction {pred.shape} and label {gt.shape} must be 2-D and of one shape')
    codes = np.zeros(pred.shape, np.uint8)
    codes[pred & gt] = TRUE_POSITIVE
    codes[pred & ~gt] = FALSE_POSITIVE
    codes[~pred & gt] = FALSE_NEGATIVE
    structures = label(pred | gt, connectivity=2)
    broken = []
    for idx, box in enumerate(ndimage.find_objects(structures), start=1):
        inside = structures[box] == idx
        # Cropping to the box keeps the Betti numbers: the pixels outside it are background of this
        # structure, and betti_numbers pads the crop with background that reaches the border.
        if betti_numbers(pred[box] & inside) != betti_numbers(gt[box] & inside):
            region = codes[box]
            region[inside & (region == FALSE_POSITIVE)] = TOPO_FALSE_POSITIVE
            region[inside & (region == FALSE_NEGATIVE)] = TOPO_FALSE_NEGATIVE
            broken.append(box)
    return codes, broken


def draw_topology_errors(image: np.ndarray, pred: np.ndarray, gt: np.ndarray, box_margin: int = 3,
                         dim: float = 0.5) -> np.ndarray:
    """The image, dimmed, with the codes of :func:`topology_error_map` painted in :data:`ERROR_COLOURS`
    and a one-pixel :data:`BOX_COLOUR` frame ``box_margin`` pixels outside each structure with wrong
    topology.

    Args:
        image: (H, W) or (H, W, 3) image (RGB).
        pred: (H, W) binary prediction.
        gt: (H, W) binary label.
        box_margin: Gap between a structure and its frame, so the frame never hides the structure's pixels.
        dim: Brightness factor of the image under correct background.

    Returns:
        (H, W, 3) uint8 RGB.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.shape[:2] != np.shape(pred):
        raise ValueError(f'image {image.shape[:2]} and prediction {np.shape(pred)} differ in size')
    codes, broken = topology_error_map(pred, gt)
    out = np.round(image[..., :3].astype(np.float64) * dim).astype(np.uint8)
    h, w = codes.shape
    for box in broken:
        top, bottom = box[0].start - box_margin - 1, box[0].stop + box_margin
        left, right = box[1].start - box_margin - 1, box[1].stop + box_margin
        r0, r1, c0, c1 = max(top, 0), min(bottom, h - 1), max(left, 0), min(right, w - 1)
        for r in (top, bottom):
            if 0 <= r < h:
                out[r, c0:c1 + 1] = BOX_COLOUR
        for c in (left, right):
            if 0 <= c < w:
                out[r0:r1 + 1, c] = BOX_COLOUR
    for code, colour in ERROR_COLOURS.items():
        out[codes == code] = colour
    return out


@VISUALIZERS.register_module()
class TopologyErrorVisualizer(SegLocalVisualizer):
    """mmseg's ``SegLocalVisualizer`` that, given a label, draws the topological errors of a binary
    segmentation (TopoMortar) instead of the plain class overlay (:func:`draw_topology_errors`).

    Samples without ``gt_sem_seg`` are drawn as mmseg does (prediction overlay).

    Args:
        foreground: Class index of the structure (1 = mortar).
        box_margin: Gap in pixels between a wrongly connected structure and its frame.
        **kwargs: :class:`~mmseg.visualization.SegLocalVisualizer` arguments.
    """

    def __init__(self, name: str = 'topology_visualizer', foreground: int = 1, box_margin: int = 3,
                 **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if box_margin < 0:
            raise ValueError(f'box_margin must be >= 0, got {box_margin}')
        self.foreground, self.box_margin = foreground, box_margin

    def add_datasample(self, name: str, image: np.ndarray, data_sample: Any = None, draw_gt: bool = True,
                       draw_pred: bool = True, show: bool = False, wait_time: float = 0,
                       out_file: str | None = None, step: int = 0, with_labels: bool = True) -> np.ndarray | None:
        """Draw the topology errors of ``data_sample.pred_sem_seg`` against ``gt_sem_seg`` on ``image``
        (H, W, 3) RGB; write ``out_file`` atomically or give the drawing to the vis backends.

        Returns:
            The (H, W, 3) RGB drawing (None for mmseg's drawing of a sample without label).
        """
        if data_sample is None or 'pred_sem_seg' not in data_sample or 'gt_sem_seg' not in data_sample \
                or not (draw_gt and draw_pred):
            if out_file is None:
                super().add_datasample(name, image, data_sample, draw_gt, draw_pred, show, wait_time,
                                       None, step, with_labels)
            else:
                with atomic_path(Path(out_file)) as tmp:
                    super().add_datasample(name, image, data_sample, draw_gt, draw_pred, show, wait_time,
                                           str(tmp), step, with_labels)
            return None
        pred = data_sample.pred_sem_seg.data.squeeze(0).cpu().numpy() == self.foreground
        gt = data_sample.gt_sem_seg.data.squeeze(0).cpu().numpy() == self.foreground
        drawn = draw_topology_errors(image, pred, gt, self.box_margin)
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
