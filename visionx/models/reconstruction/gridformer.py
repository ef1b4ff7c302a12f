"""GridFormer: Point-Grid Transformer for Surface Reconstruction (Li, Zhou, Chen, Liu; AAAI 2024,
arXiv 2401.02292).  Point MLP stem -> scatter-mean to planes / volume -> point-grid U-Net -> local decoder.
"""
from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn as nn
from mmengine.model import BaseModel, BaseModule

from visionx.registry import MODELS
from .common import coordinate_to_index, normalize_coordinate
from .mesh_extraction import mise, sparse_marching_cubes
from .scatter import scatter_mean

PLANE_KEYS = ('xz', 'xy', 'yz')


@MODELS.register_module()
class GridFormerEncoder(BaseModule):
    """Point MLP stem, scatter-mean into the grid, point-grid U-Net (``LocalPoolPointnet`` of the official
    code, which in GridFormer has no ResNet blocks and no local pooling; METHODS.md §1.3.1).

    Args:
        plane_type: ``('xz', 'xy', 'yz')`` (3-plane, needs the 2D U-Net) or ``('grid',)`` (volume).
        resolution: Plane / volume resolution R (paper: 64).
        c_dim: Width of the stem output and the grids (paper: 32).
        hidden_dim: Stem hidden width is ``2 * hidden_dim`` (paper: 32).
        unet: Config of :class:`PointGridUNet2D` or :class:`PointGridUNet3D`.
        padding: Box padding.
        init_cfg: MMEngine init config.
    """

    def __init__(self, plane_type: Sequence[str] = PLANE_KEYS, resolution: int = 64, c_dim: int = 32,
                 hidden_dim: int = 32, unet: dict | None = None, padding: float = 0.1,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        plane_type = tuple(plane_type)
        if plane_type not in (PLANE_KEYS, ('grid',)):
            raise ValueError(f"plane_type must be {PLANE_KEYS} or ('grid',), got {plane_type}")
        if resolution % 4:
            raise ValueError(f'resolution must be divisible by 4 (two poolings), got {resolution}')
        self.plane_type = plane_type
        self.resolution = resolution
        self.c_dim = c_dim
        self.padding = padding
        self.fc_pos = nn.Sequential(nn.Linear(3, 2 * hidden_dim), nn.ReLU(), nn.Linear(2 * hidden_dim, 2 * hidden_dim),
                                    nn.ReLU(), nn.Linear(2 * hidden_dim, c_dim))
        default = 'PointGridUNet3D' if plane_type == ('grid',) else 'PointGridUNet2D'
        unet = dict(type=default, in_channels=c_dim, base_channels=c_dim, padding=padding, **(unet or {}))
        self.unet = MODELS.build(unet)
        self.out_channels = list(self.unet.out_channels)

    def forward(self, points: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """Args: points (B, N, 3).  Returns: three levels of ``{key: (B, C_i, R_i, R_i[, R_i])}``."""
        b = points.shape[0]
        feats = self.fc_pos(points)                                           # (B, N, c_dim)
        grids = {}
        for key in self.plane_type:
            u = normalize_coordinate(points, key, self.padding)
            index = coordinate_to_index(u, self.resolution)
            ndim = u.shape[-1]
            grid = scatter_mean(feats.transpose(1, 2), index, self.resolution ** ndim)
            grids[key] = grid.reshape(b, self.c_dim, *([self.resolution] * ndim))
        return self.unet(points, grids, feats)


@MODELS.register_module()
class GridFormer(BaseModel):
    """GridFormer occupancy network as an MMEngine model.

    Batches (from :class:`~visionx.datasets.reconstruction.PackOccupancyInputs` + ``default_collate``):
    ``inputs`` (B, N, 3) noisy input points and ``data_samples`` a dict of stacked tensors / lists with
    ``points`` (B, M, 3) and ``points_occ`` (B, M) for training, optionally ``points_iou`` (B, K, 3),
    ``generate_mesh`` (B,) and metadata for prediction.

    Args:
        encoder: :class:`GridFormerEncoder` config.
        decoder: :class:`LocalDecoder` config (``in_channels`` is filled from the encoder).
        loss: Loss config; ``MarginBCELoss`` with ``margin=0`` (stage 1) or ``2.0`` (stage 2).
        test_cfg: Prediction options: ``points_batch_size`` (decoder chunk, default 100000),
            ``mesh`` = ``dict(method='sparse_mc'|'mise', ...)`` keyword arguments of
            :func:`~.mesh_extraction.sparse_marching_cubes` / :func:`~.mesh_extraction.mise`
            (e.g. ``resolution=256``; use a lower one for fast CPU evaluation).
        data_preprocessor: MMEngine data preprocessor (moves the batch to the device).
        init_cfg: MMEngine init config.
    """

    def __init__(self, encoder: dict, decoder: dict, loss: dict = dict(type='MarginBCELoss', margin=0.0),
                 test_cfg: dict | None = None, data_preprocessor: dict | None = None,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.encoder = MODELS.build(dict(type='GridFormerEncoder', **encoder))
        decoder = dict(type='LocalDecoder', **decoder)
        decoder.setdefault('in_channels', self.encoder.out_channels)
        decoder.setdefault('padding', self.encoder.padding)
        self.decoder = MODELS.build(decoder)
        self.loss_fn = MODELS.build(loss)
        self.test_cfg = dict(points_batch_size=100000, mesh=dict(method='sparse_mc'))
        self.test_cfg.update(test_cfg or {})
        self.mesh_settings()  # refuse a mesh method / option mix now, not at the first mesh of a test run

    @staticmethod
    def check_inputs(inputs: torch.Tensor) -> None:
        """Refuse point clouds GridFormer cannot encode: wrong shape, empty, non-finite, degenerate."""
        if not torch.is_tensor(inputs) or inputs.dim() != 3 or inputs.shape[-1] != 3:
            shape = tuple(inputs.shape) if torch.is_tensor(inputs) else type(inputs).__name__
            raise ValueError(f'inputs must be a (B, N, 3) point tensor, got {shape}')
        if inputs.shape[1] < 2:
            raise ValueError(f'inputs must hold at least 2 points per cloud, got {inputs.shape[1]}')
        if not torch.isfinite(inputs).all():
            raise ValueError('inputs contain NaN or Inf coordinates')
        if (inputs.amax(1) - inputs.amin(1)).amax(-1).eq(0).any():
            raise ValueError('a point cloud has all points identical (zero extent)')

    def encode(self, inputs: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """Grid features of input points (B, N, 3)."""
        self.check_inputs(inputs)
        return self.encoder(inputs)

    def decode(self, points: torch.Tensor, features: list[dict[str, torch.Tensor]],
               chunk: int | None = None) -> torch.Tensor:
        """Occupancy logits (B, M) of query points (B, M, 3), in chunks of ``chunk`` queries."""
        if chunk is None or points.shape[1] <= chunk:
            return self.decoder(points, features)
        return torch.cat([self.decoder(p, features) for p in points.split(chunk, 1)], 1)

    def forward(self, inputs: torch.Tensor, data_samples: dict | None = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            if data_samples is None or 'points' not in data_samples:
                return self.encode(inputs)
            return self.decode(data_samples['points'], self.encode(inputs))
        raise ValueError(f'mode must be "loss", "predict" or "tensor", got {mode!r}')

    def loss(self, inputs: torch.Tensor, data_samples: dict) -> dict[str, torch.Tensor]:
        logits = self.decode(data_samples['points'], self.encode(inputs))
        name = getattr(self.loss_fn, 'loss_name', 'loss_occ')
        return {name: self.loss_fn(logits, data_samples['points_occ'])}

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, data_samples: dict | None = None) -> list[dict[str, Any]]:
        """Per sample: ``occ_prob_iou`` (K,) at ``points_iou`` if given; ``vertices``/``faces`` if the
        batch asks for a mesh (``generate_mesh``); timings in seconds."""
        data_samples = data_samples or {}
        t0 = time.perf_counter()
        features = self.encode(inputs)
        encode_s = (time.perf_counter() - t0) / len(inputs)
        chunk = int(self.test_cfg['points_batch_size'])
        results = [dict(time_encode=encode_s) for _ in range(len(inputs))]
        if 'points_iou' in data_samples:
            probs = torch.sigmoid(self.decode(data_samples['points_iou'], features, chunk)).cpu()
            for r, p in zip(results, probs):
                r['occ_prob_iou'] = p
        want = data_samples.get('generate_mesh')
        for i, r in enumerate(results):
            if want is not None and bool(want[i]):
                t1 = time.perf_counter()
                level = [{k: v[i:i + 1] for k, v in lv.items()} for lv in features]
                r['vertices'], r['faces'] = self.extract_mesh(level, inputs[i])
                r['time_mesh'] = time.perf_counter() - t1
        return results

    def extract_mesh(self, features: list[dict[str, torch.Tensor]], input_points: torch.Tensor,
                     **overrides) -> tuple[np.ndarray, np.ndarray]:
        """Mesh (vertices (V, 3), faces (F, 3)) of one encoded shape (features with batch size 1)."""
        method, cfg = self.mesh_settings(overrides)
        device = input_points.device
        chunk = int(self.test_cfg['points_batch_size'])

        def occupancy(points: np.ndarray) -> np.ndarray:
            q = torch.from_numpy(points).to(device=device, dtype=torch.float32)[None]
            with torch.no_grad():
                return torch.sigmoid(self.decode(q, features, chunk).float())[0].cpu().numpy()

        if method == 'sparse_mc':
            return sparse_marching_cubes(occupancy, input_points.detach().cpu().numpy(), **cfg)
        cfg.setdefault('box_size', 1 + self.encoder.padding)
        return mise(occupancy, **cfg)

    def mesh_settings(self, overrides: dict | None = None) -> tuple[str, dict]:
        """``(method, keyword arguments)`` of ``test_cfg.mesh`` updated with ``overrides``.

        Raises:
            ConfigError: an unknown method, or an option the method does not take (e.g. ``resolution``, an
                option of ``sparse_mc``, with ``method='mise'``, which takes ``resolution0``).
        """
        import inspect

        from visionx.utils import ConfigError
        cfg = dict(self.test_cfg['mesh'])
        cfg.update(overrides or {})
        method = cfg.pop('method', 'sparse_mc')
        functions = dict(sparse_mc=sparse_marching_cubes, mise=mise)
        if method not in functions:
            raise ConfigError(f"test_cfg.mesh.method must be 'sparse_mc' or 'mise', got {method!r}")
        params = list(inspect.signature(functions[method]).parameters)[1:]  # after the occupancy function
        if method == 'sparse_mc':
            params = params[1:]  # input_points come from the batch
        unknown = sorted(set(cfg) - set(params))
        if unknown:
            raise ConfigError(f'test_cfg.mesh: method {method!r} does not take {unknown}; it takes {params} '
                              "(e.g. mise's first resolution is resolution0; drop sparse_mc's keys with "
                              "mesh=dict(_delete_=True, method='mise', ...))")
        return method, cfg
