"""Visualisers and the prediction writer on hand-built predictions with known answers."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement, PixelData
from mmseg.structures import SegDataSample

from visionx.registry import VISUALIZERS
from visionx.visualization import draw_volume, render_mesh, topology_error_map
from visionx.visualization.topology_visualizer import (BOX_COLOUR, ERROR_COLOURS, FALSE_NEGATIVE,
                                                       TOPO_FALSE_NEGATIVE, TOPO_FALSE_POSITIVE,
                                                       TRUE_POSITIVE)

MAGENTA, YELLOW, BLUE, WHITE = (ERROR_COLOURS[c] for c in (TOPO_FALSE_NEGATIVE, TOPO_FALSE_POSITIVE,
                                                           FALSE_NEGATIVE, TRUE_POSITIVE))


def _bar_case():
    """Label: a 3-px thick horizontal bar and nothing else.  Prediction: the bar with a 2-px break
    (columns 14-15: a broken link), one pixel missing on the bar's edge at column 5 (harmless: the bar
    stays one component) and a spurious 2x2 blob at rows 2-3, columns 25-26."""
    gt = np.zeros((24, 32), np.uint8)
    gt[10:13, 2:30] = 1
    pred = gt.copy()
    pred[10:13, 14:16] = 0
    pred[2:4, 25:27] = 1
    return pred, gt


def test_topology_error_map_marks_the_broken_link_and_the_spurious_blob():
    pred, gt = _bar_case()
    codes, broken = topology_error_map(pred, gt)
    assert (codes[10:13, 14:16] == TOPO_FALSE_NEGATIVE).all()   # the break splits the bar: b0 1 -> 2
    assert (codes[2:4, 25:27] == TOPO_FALSE_POSITIVE).all()     # an extra component: b0 0 -> 1
    assert (codes[10:13, 2:14] == TRUE_POSITIVE).all()
    assert sorted((b[0].start, b[0].stop, b[1].start, b[1].stop) for b in broken) == [(2, 4, 25, 27),
                                                                                     (10, 13, 2, 30)]


def test_pixel_errors_that_keep_the_topology_are_plain():
    gt = np.zeros((16, 16), np.uint8)
    gt[4:9, 3:12] = 1
    pred = gt.copy()
    pred[4, 5] = 0  # a notch in the edge: still one component without holes
    codes, broken = topology_error_map(pred, gt)
    assert codes[4, 5] == FALSE_NEGATIVE and broken == []
    pred[6, 7] = 0  # an interior pixel: a hole, b1 0 -> 1
    codes, broken = topology_error_map(pred, gt)
    assert codes[6, 7] == TOPO_FALSE_NEGATIVE and codes[4, 5] == TOPO_FALSE_NEGATIVE and len(broken) == 1


def test_topology_visualizer_paints_the_break_in_the_error_colour(tmp_path):
    pred, gt = _bar_case()
    image = np.full((24, 32, 3), 100, np.uint8)
    sample = SegDataSample(pred_sem_seg=PixelData(data=torch.from_numpy(pred)[None]),
                           gt_sem_seg=PixelData(data=torch.from_numpy(gt)[None]))
    vis = VISUALIZERS.build(dict(type='TopologyErrorVisualizer', name='test_topology_vis'))
    out = tmp_path / 'vis' / 'bar.png'
    vis.add_datasample('bar', image, sample, out_file=str(out))
    drawn = cv2.imread(str(out))[..., ::-1]
    assert drawn.shape == (24, 32, 3)
    assert (drawn[10:13, 14:16] == MAGENTA).all()
    assert (drawn[2:4, 25:27] == YELLOW).all()
    assert (drawn[10:13, 2:14] == WHITE).all()
    assert (drawn[20, 0] == 50).all()  # correct background: the image at half brightness
    # frame 3 px outside the broken bar (rows 10-12): rows 6 and 16
    assert (drawn[6, 10] == BOX_COLOUR).all() and (drawn[16, 10] == BOX_COLOUR).all()


def test_volume_overlay_planes_and_colours():
    volume = np.zeros((8, 10, 6), np.float32)
    volume[4, 5, 3] = 1.0
    pred = np.zeros((8, 10, 6), np.uint8)
    pred[2:6, 3:7, 3] = 1  # visible in the axial slice z = 3 only (and in coronal y = 5 / sagittal x = 4)
    drawn = draw_volume(volume, pred, panel_size=40, alpha=1.0)
    assert drawn.shape == (40, 120, 3)
    # axial panel: the (8, 10) slice scaled by 4 into 32x40 rows/cols, centred vertically (offset 4)
    assert tuple(drawn[4 + 2 * 4, 3 * 4]) == (230, 40, 40)
    assert tuple(drawn[4 + 0, 0]) == (0, 0, 0)  # background of a min-max scaled slice is black


def test_mesh_rendering_covers_the_shape():
    import trimesh
    box = trimesh.creation.box(extents=(1, 1, 1))
    image = render_mesh(box.vertices, box.faces, points=box.vertices, size=64)
    assert image.shape == (64, 3 * 64, 3)
    mesh_panel = image[:, 64:128]
    shaded = (mesh_panel != 255).any(-1)
    assert 0.1 < shaded.mean() < 0.9  # the box fills part of the panel, the rest stays white
    assert (image[:, :64] != 255).any(-1).sum() >= 4  # the input points are drawn


def test_writer_formats_of_2d_predictions(tmp_path):
    from visionx.engine.hooks import PredictionWriterHook
    label = torch.tensor([[[0, 1], [2, 1]]])
    sample = SegDataSample(pred_sem_seg=PixelData(data=label),
                           seg_logits=PixelData(data=torch.tensor([[[0.0, 0.25], [0.5, 1.0]]])))
    multi = PredictionWriterHook(str(tmp_path))
    multi.num_classes = 3
    np.testing.assert_array_equal(multi.seg_image(sample), [[0, 1], [2, 1]])  # class indices
    binary = PredictionWriterHook(str(tmp_path))
    binary.num_classes = 2
    sample.pred_sem_seg = PixelData(data=torch.tensor([[[0, 1], [1, 0]]]))
    np.testing.assert_array_equal(binary.seg_image(sample), [[0, 255], [255, 0]])
    saliency = PredictionWriterHook(str(tmp_path), saliency=True)
    np.testing.assert_array_equal(saliency.seg_image(sample), [[0, 64], [128, 255]])  # round(255 p)


def test_writer_names_an_unknown_output():
    from visionx.engine.hooks.predictions import iter_predictions
    with pytest.raises(ValueError, match='generate_mesh=True'):
        list(iter_predictions({}, [dict(occ_prob_iou=torch.zeros(3))], 0))
    with pytest.raises(ValueError, match=r"\['foo'\]"):
        list(iter_predictions({}, [BaseDataElement(foo=1)], 0))
