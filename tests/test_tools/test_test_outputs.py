"""tools/test.py --out DIR (predictions per method family), --out-metrics and --show-dir, run in-process.

Each family runs its demo config shrunk by ``--cfg-options`` (tiny network, one or two test samples) with
a randomly initialised checkpoint; the saved files are compared with predictions computed here directly
from the model (not through the writer hooks).
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.conftest import REPO_ROOT

TOPOMORTAR_CFG = 'configs/topomortar/cedice_dynunet-tiny_1xb4-300it_topomortar-demo-128x128.py'
TRACOCO_CFG = 'configs/tracoco/tracoco_vnet-tiny_1xb4-150it_demo-4lab-32x32x32.py'
GRIDFORMER_CFG = 'configs/gridformer/gridformer_3plane32-c8_1xb4-400it_synshapes-512.py'
BASNET_CFG = 'configs/basnet/basnet_r34_1xb4-200it_synth-duts-48.py'


@pytest.fixture(scope='module')
def test_tool():
    spec = importlib.util.spec_from_file_location('vx_test_tool_outputs', REPO_ROOT / 'tools' / 'test.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def _model_and_cfg(config: str, options: dict, data_root: Path):
    from mmengine.registry import init_default_scope

    from visionx.registry import MODELS
    from visionx.utils import load_config
    from visionx.utils.config import set_data_root
    cfg = load_config(str(REPO_ROOT / config), options)
    set_data_root(cfg, str(data_root))
    init_default_scope('visionx')
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval(), cfg


def _run(tool, config: str, options: dict, data_root: Path, tmp_path: Path):
    """Save a random checkpoint of the shrunk model, run tools/test.py on it with --out / --show-dir /
    --out-metrics; return the out dir, the show dir, the model with the checkpoint's weights and its config."""
    model, cfg = _model_and_cfg(config, options, data_root)
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    out, show, metrics = tmp_path / 'out', tmp_path / 'show', tmp_path / 'm' / 'metrics.json'
    argv = [str(REPO_ROOT / config), str(ckpt), '--work-dir', str(tmp_path / 'wd'), '--data-root',
            str(data_root), '--out', str(out), '--show-dir', str(show), '--out-metrics', str(metrics),
            '--cfg-options', *(f'{k}={v}' for k, v in options.items())]
    assert tool.main(argv) == 0
    assert json.loads(metrics.read_text())['metrics']  # the metrics still reach the chosen JSON
    return out, show, model, cfg


def _predict(model, cfg, index: int):
    """The model's prediction for test sample ``index``, computed without any hook."""
    from mmengine.dataset import pseudo_collate

    from visionx.registry import DATASETS
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    with torch.no_grad():
        return model.test_step(pseudo_collate([dataset[index]]))[0], dataset[index]


def test_topomortar_masks_and_topology_overlays(test_tool, demo_root, tmp_path):
    options = {'model.network.num_levels': 4, 'model.network.filters': [4, 8, 16, 16],
               'model.network.deep_supr_num': 2, 'test_dataloader.dataset.indices': 2}
    root = demo_root / 'topomortar'
    out, show, model, cfg = _run(test_tool, TOPOMORTAR_CFG, options, root, tmp_path)
    pngs = sorted(out.glob('*.png'))
    assert len(pngs) == 2
    for i, png in enumerate(pngs):
        pred, sample = _predict(model, cfg, i)
        assert png.stem == Path(pred.img_path).stem
        saved = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        expected = pred.pred_sem_seg.data[0].numpy().astype(np.uint8) * 255  # binary task: 0/255
        assert saved.dtype == np.uint8 and saved.ndim == 2
        np.testing.assert_array_equal(saved, expected)
        drawn = cv2.imread(str(show / png.name))  # the topology-error overlay, at the image's size
        assert drawn is not None and drawn.shape == cv2.imread(pred.img_path).shape


def test_tracoco_nifti_volumes(test_tool, demo_root, tmp_path):
    import h5py
    import nibabel as nib
    options = {'model.test_cfg.strides': (32, 32, 32), 'model.test_cfg.eval_nets': ['net1'],
               'model.test_cfg.output': 'net1', 'test_dataloader.dataset.indices': 1}
    root = demo_root / 'tracoco'
    out, show, model, cfg = _run(test_tool, TRACOCO_CFG, options, root, tmp_path)
    pred, _ = _predict(model, cfg, 0)
    case = pred.case
    (saved,) = sorted(out.glob('*.nii.gz'))
    assert saved.name == f'{case}.nii.gz'
    with h5py.File(root / 'data' / case / 'mri_norm2.h5') as f:
        shape = f['image'].shape
    volume = np.asarray(nib.load(str(saved)).dataobj)
    assert volume.shape == shape and volume.dtype == np.uint8
    np.testing.assert_array_equal(volume, pred.pred_label)
    drawn = cv2.imread(str(show / f'{case}.png'))
    assert drawn.shape == (256, 3 * 256, 3)  # axial | coronal | sagittal panels of 256 px


def test_gridformer_meshes(test_tool, demo_root, tmp_path):
    import trimesh
    options = {'model.test_cfg.mesh.resolution': 32, 'model.test_cfg.mesh.refine_iters': 0,
               'test_evaluator.n_points': 1000, 'test_dataloader.dataset.indices': 1}
    out, show, _, _ = _run(test_tool, GRIDFORMER_CFG, options, demo_root / 'gridformer', tmp_path)
    (ply,) = sorted(out.rglob('*.ply'))
    category, model_id = ply.parent.name, ply.stem  # <out>/<category>/<model_id>.ply
    assert (demo_root / 'gridformer' / category / model_id).is_dir()
    mesh = trimesh.load(ply, process=False)
    assert len(mesh.faces) > 0 and mesh.faces.max() < len(mesh.vertices)
    assert np.abs(mesh.vertices).max() < 0.6  # inside the padded unit cube of the inputs
    shown = show / category / f'{model_id}.png'
    assert cv2.imread(str(shown)).shape == (256, 3 * 256, 3)  # input points | two views of the mesh
    assert len(trimesh.load(shown.with_suffix('.ply'), process=False).faces) == len(mesh.faces)


def test_basnet_saliency_maps(test_tool, demo_root, tmp_path):
    # BASNet's 87M parameters cannot shrink: test one image at 32 px (the pipeline's Resize is step 1)
    options = {'test_dataloader.dataset.indices': 1, 'test_dataloader.num_workers': 0,
               'test_dataloader.dataset.pipeline.1.scale': (32, 32)}
    root = demo_root / 'basnet'
    out, show, model, cfg = _run(test_tool, BASNET_CFG, options, root, tmp_path)
    pred, _ = _predict(model, cfg, 0)
    (png,) = sorted(out.glob('*.png'))
    saved = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
    prob = pred.seg_logits.data[0].numpy()
    assert saved.dtype == np.uint8 and saved.shape == prob.shape == tuple(pred.ori_shape)
    np.testing.assert_array_equal(saved, np.round(prob * 255).astype(np.uint8))
    assert cv2.imread(str(show / png.name)) is not None


def test_out_with_a_json_name_points_to_out_metrics(test_tool, tmp_path):
    from mmengine.config import Config

    from visionx.utils import ConfigError
    with pytest.raises(ConfigError, match='--out-metrics'):
        test_tool.enable_prediction_output(Config(dict(test_evaluator=dict(type='IoUMetric'))),
                                           str(tmp_path / 'metrics.json'))


def test_hooks_follow_the_evaluator(test_tool):
    from mmengine.config import Config
    cfg = Config(dict(test_evaluator=dict(type='SODMetric'), visualizer=dict(type='SegLocalVisualizer'),
                      default_hooks=dict(visualization=dict(type='SegVisualizationHook'))))
    test_tool.enable_prediction_output(cfg, 'preds')
    test_tool.enable_visualization(cfg, 'show')
    assert cfg.custom_hooks == [dict(type='PredictionWriterHook', out_dir='preds', saliency=True),
                                dict(type='PredictionVisualizationHook', show_dir='show')]
    assert cfg.default_hooks.visualization.draw is False  # mmseg's hook would draw a second time
    assert cfg.visualizer.type == 'SegLocalVisualizer'
    topo = Config(dict(test_evaluator=[dict(type='TopologyMetric')], visualizer=dict(type='SegLocalVisualizer')))
    test_tool.enable_visualization(topo, 'show')
    assert topo.visualizer.type == 'TopologyErrorVisualizer'
