"""Test-time hooks that save predictions (``tools/test.py --out``) and their drawings (``--show-dir``).

Both read the model outputs of each test iteration, whatever the method family:

* GridFormer: dicts with ``vertices`` (V, 3) / ``faces`` (F, 3), named ``<category>/<model_id>``;
* 3-D segmentation (TraCoCo): data elements with ``pred_label`` (X, Y, Z), named by the ``case`` meta key;
* 2-D segmentation (BASNet, TopoMortar, mmseg models): ``SegDataSample``\\ s with ``pred_sem_seg``,
  named by the stem of ``img_path``.
"""
from __future__ import annotations

import os.path as osp
from pathlib import Path
from typing import Any, Iterator, NamedTuple, Sequence

import numpy as np
from mmengine.dist import get_rank, get_world_size
import torch
from mmengine.hooks import Hook

from visionx.registry import HOOKS, VISUALIZERS
from visionx.utils import atomic_path


class Prediction(NamedTuple):
    """One test sample's prediction: its family (``'mesh'``, ``'volume'``, ``'seg'``), file name stem (may
    hold a ``/``), the model output and the sample's input (points (N, 3) or volume (C, X, Y, Z))."""
    kind: str
    name: str
    output: Any
    inputs: Any


def _numpy(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if torch.is_tensor(value) else np.asarray(value)


def _batch_field(data_batch: dict, key: str, i: int) -> Any:
    """Field ``key`` of sample ``i`` of a collated batch (dict of lists/tensors or list of data samples)."""
    samples = data_batch.get('data_samples') if isinstance(data_batch, dict) else None
    if isinstance(samples, dict):
        value = samples.get(key)
        return None if value is None else value[i]
    if isinstance(samples, (list, tuple)) and i < len(samples):
        return samples[i].get(key) if hasattr(samples[i], 'get') else None
    return None


def iter_predictions(data_batch: dict, outputs: Sequence[Any], batch_idx: int) -> Iterator[Prediction]:
    """Identify the family of each test output of one batch and give it a file name.

    Raises:
        ValueError: For an output none of the writers knows (names what it holds).
    """
    inputs = data_batch.get('inputs') if isinstance(data_batch, dict) else None
    for i, out in enumerate(outputs):
        sample_input = inputs[i] if inputs is not None and i < len(inputs) else None
        fallback = f'{batch_idx:06d}_{i}' if get_world_size() == 1 else f'rank{get_rank()}_{batch_idx:06d}_{i}'
        if isinstance(out, dict) and 'vertices' in out:
            category, model_id = _batch_field(data_batch, 'category', i), _batch_field(data_batch, 'model_id', i)
            name = f'{category}/{model_id}' if category is not None and model_id is not None else fallback
            yield Prediction('mesh', name, out, sample_input)
        elif hasattr(out, 'get') and out.get('pred_label') is not None and np.ndim(_numpy(out.get('pred_label'))) == 3:
            yield Prediction('volume', str(out.get('case', fallback)), out, sample_input)
        elif hasattr(out, 'get') and out.get('pred_sem_seg') is not None:
            img_path = out.get('img_path')
            name = osp.splitext(osp.basename(img_path))[0] if img_path else fallback
            yield Prediction('seg', name, out, sample_input)
        elif isinstance(out, dict) and 'occ_prob_iou' in out:
            raise ValueError('GridFormer outputs carry no mesh: use PackOccupancyInputs(generate_mesh=True) '
                             'in the test pipeline to save or draw meshes')
        else:
            keys = sorted(out.keys()) if hasattr(out, 'keys') else type(out).__name__
            raise ValueError(f'cannot save or draw a test output holding {keys}: expected "vertices"/"faces" '
                             '(meshes), a 3-D "pred_label" (volumes) or "pred_sem_seg" (2-D segmentation)')


def _volume_affine(sample: Any) -> np.ndarray:
    """The sample's ``affine`` meta key, else a diagonal affine of its ``spacing``, else the identity."""
    affine = sample.get('affine')
    if affine is not None:
        return _numpy(affine).astype(np.float64).reshape(4, 4)
    spacing = sample.get('spacing')
    if spacing is not None:
        return np.diag([*map(float, _numpy(spacing).reshape(3)), 1.0])
    return np.eye(4)


@HOOKS.register_module()
class PredictionWriterHook(Hook):
    """Save every test prediction under ``out_dir`` in its method's natural format, one file per sample
    (``tools/test.py --out DIR``, mmseg 1.x's ``--out``), written atomically.

    * 2-D segmentation: ``<img stem>.png``, 8-bit.  Class indices, or 0/255 when the dataset has two
      classes (``binary_scale``); with ``saliency=True`` the one-channel probability map ``seg_logits``
      (BASNet) as ``round(255 p)``, the format of the salient-object-detection benchmarks;
    * meshes: ``<category>/<model_id><mesh_suffix>`` (trimesh);
    * volumes: ``<case>.nii.gz`` (uint8 labels; affine from the ``affine`` or ``spacing`` meta keys).

    Progress is logged about ten times per test run.

    Args:
        out_dir: Output folder (created).
        saliency: Save 2-D saliency maps instead of thresholded masks (the samples must carry a
            one-channel ``seg_logits`` of probabilities).
        binary_scale: Save masks of two-class datasets as 0/255 (True) or as class indices 0/1 (False).
        mesh_suffix: ``'.ply'``, ``'.off'`` or ``'.obj'``.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str, saliency: bool = False, binary_scale: bool = True,
                 mesh_suffix: str = '.ply') -> None:
        if not out_dir:
            raise ValueError('PredictionWriterHook needs an out_dir')
        if mesh_suffix not in ('.ply', '.off', '.obj'):
            raise ValueError(f"mesh_suffix must be '.ply', '.off' or '.obj', got {mesh_suffix!r}")
        self.out_dir, self.saliency, self.binary_scale = Path(out_dir), saliency, binary_scale
        self.mesh_suffix = mesh_suffix
        self.num_classes: int | None = None
        self.written = 0
        self.total_batches = 0

    def before_test(self, runner) -> None:
        self.written = 0
        dataloader = runner.test_dataloader
        self.total_batches = len(dataloader)
        classes = getattr(dataloader.dataset, 'metainfo', {}).get('classes')
        self.num_classes = len(classes) if classes is not None else None
        self.out_dir.mkdir(parents=True, exist_ok=True)

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict | None = None,
                        outputs: Sequence | None = None) -> None:
        for pred in iter_predictions(data_batch or {}, outputs or [], batch_idx):
            self.write(pred)
            self.written += 1
        step = max(1, self.total_batches // 10)
        if (batch_idx + 1) % step == 0 or batch_idx + 1 == self.total_batches:
            runner.logger.info(f'--out: {self.written} predictions written to {self.out_dir} '
                               f'({batch_idx + 1}/{self.total_batches} batches)')

    def write(self, pred: Prediction) -> Path:
        """Write one prediction; returns its path."""
        if pred.kind == 'mesh':
            from visionx.visualization import save_mesh
            path = self.out_dir / f'{pred.name}{self.mesh_suffix}'
            save_mesh(pred.output['vertices'], pred.output['faces'], path)
        elif pred.kind == 'volume':
            import nibabel as nib
            path = self.out_dir / f'{pred.name}.nii.gz'
            label = _numpy(pred.output.get('pred_label')).astype(np.uint8)
            with atomic_path(path, suffix='.nii.gz') as tmp:
                nib.save(nib.Nifti1Image(label, _volume_affine(pred.output)), str(tmp))
        else:
            import mmcv
            path = self.out_dir / f'{pred.name}.png'
            with atomic_path(path) as tmp:
                mmcv.imwrite(self.seg_image(pred.output), str(tmp))
        return path

    def seg_image(self, sample: Any) -> np.ndarray:
        """The (H, W) uint8 image saved for a 2-D prediction."""
        if self.saliency:
            if sample.get('seg_logits') is None:
                raise ValueError('saliency=True needs samples with a one-channel "seg_logits" probability map')
            prob = _numpy(sample.seg_logits.data).astype(np.float64)
            if prob.ndim != 3 or prob.shape[0] != 1:
                raise ValueError(f'saliency=True needs a one-channel "seg_logits", got shape {prob.shape}')
            return np.round(np.clip(prob[0], 0, 1) * 255).astype(np.uint8)
        label = _numpy(sample.pred_sem_seg.data)[0]
        if label.max(initial=0) > 255:
            raise ValueError(f'class index {int(label.max())} does not fit an 8-bit PNG')
        label = label.astype(np.uint8)
        if self.binary_scale and self.num_classes == 2:
            label = label * np.uint8(255)
        return label


@HOOKS.register_module()
class PredictionVisualizationHook(Hook):
    """Draw every ``interval``-th test sample into ``show_dir`` (``tools/test.py --show-dir DIR``).

    * meshes: :class:`~visionx.visualization.MeshVisualizer` (``<category>/<model_id>.png`` + ``.ply``);
    * volumes: :class:`~visionx.visualization.VolumeVisualizer` (``<case>.png``, three mid-slice planes);
    * 2-D segmentation: the runner's visualiser (``cfg.visualizer``: mmseg's ``SegLocalVisualizer``, or
      :class:`~visionx.visualization.TopologyErrorVisualizer` for topology tasks) on the image read from
      ``img_path`` (``<img stem>.png``), as mmseg's ``SegVisualizationHook`` does, but without touching the
      training loop (so testing needs no training data).

    Args:
        show_dir: Output folder.
        interval: Draw one test iteration in ``interval``.
    """

    priority = 'LOW'

    def __init__(self, show_dir: str, interval: int = 1) -> None:
        if not show_dir:
            raise ValueError('PredictionVisualizationHook needs a show_dir')
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.show_dir, self.interval = Path(show_dir), interval
        self._visualizers: dict[str, Any] = {}

    def _visualizer(self, runner, kind: str):
        if kind not in self._visualizers:
            if kind == 'mesh':
                vis = VISUALIZERS.build(dict(type='MeshVisualizer', name='visionx_mesh_visualizer'))
            elif kind == 'volume':
                vis = VISUALIZERS.build(dict(type='VolumeVisualizer', name='visionx_volume_visualizer'))
            else:
                from mmseg.visualization import SegLocalVisualizer
                vis = runner.visualizer
                if not isinstance(vis, SegLocalVisualizer):
                    vis = VISUALIZERS.build(dict(type='SegLocalVisualizer', name='visionx_seg_visualizer'))
                    vis.dataset_meta = getattr(runner.test_dataloader.dataset, 'metainfo', {})
            self._visualizers[kind] = vis
        return self._visualizers[kind]

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict | None = None,
                        outputs: Sequence | None = None) -> None:
        if batch_idx % self.interval:
            return
        for pred in iter_predictions(data_batch or {}, outputs or [], batch_idx):
            vis = self._visualizer(runner, pred.kind)
            out_file = str(self.show_dir / f'{pred.name}.png')
            if pred.kind == 'mesh':
                points = None if pred.inputs is None else _numpy(pred.inputs)
                vis.add_datasample(pred.name, None, pred.output, out_file=out_file, points=points)
            elif pred.kind == 'volume':
                vis.add_datasample(pred.name, _numpy(pred.inputs), pred.output, out_file=out_file)
            else:
                self._draw_seg(vis, pred, out_file)

    @staticmethod
    def _draw_seg(vis, pred: Prediction, out_file: str) -> None:
        import mmcv
        from mmengine.fileio import get
        img_path = pred.output.get('img_path')
        if not img_path:
            raise ValueError(f'cannot draw 2-D prediction {pred.name}: its sample has no img_path')
        image = mmcv.imfrombytes(get(img_path), channel_order='rgb')
        label = pred.output.pred_sem_seg.data
        if image.shape[:2] != tuple(label.shape[-2:]):
            image = mmcv.imresize(image, (label.shape[-1], label.shape[-2]))
        with atomic_path(Path(out_file)) as tmp:
            vis.add_datasample(pred.name, image, pred.output, out_file=str(tmp))
