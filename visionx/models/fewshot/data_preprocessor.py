"""Data preprocessor of the few-shot segmentor: ordinary batches for base training, episode batches
(query + supports) for testing."""
from __future__ import annotations

import torch
from mmseg.models.data_preprocessor import SegDataPreProcessor

from visionx.registry import MODELS


@MODELS.register_module()
class FewShotSegDataPreProcessor(SegDataPreProcessor):
    """``SegDataPreProcessor`` that also normalises the supports of episode batches.

    An episode batch (collated :class:`~visionx.datasets.fewshot.FewShotPascalDataset` items in
    ``mode='episodic'``) holds ``inputs`` / ``data_samples`` (the T queries) and ``support_inputs`` (T
    tensors (K, 3, H, W)) / ``support_masks`` (T tensors (K, H, W)).  Queries and supports go through the
    same normalisation (mean/std, BGR→RGB) as training images.

    Returns (episode batches): ``inputs`` (T, 3, H, W), ``data_samples``, ``support_inputs``
    (T, K, 3, H, W) and ``support_masks`` (T, K, H, W) long.  Other batches: as ``SegDataPreProcessor``.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        if 'support_inputs' not in data:
            return super().forward(data, training)
        query = super().forward(dict(inputs=data['inputs'], data_samples=data['data_samples']), training)
        supports = data['support_inputs']
        shots = {int(s.shape[0]) for s in supports}
        if len(shots) != 1:
            raise ValueError(f'an episode batch must have one shot count, got {sorted(shots)}')
        k = shots.pop()
        masks = data['support_masks']
        if len(masks) != len(supports) or any(m.shape[0] != k for m in masks):
            raise ValueError('support_masks must hold one (K, H, W) tensor per task, K as support_inputs')
        flat = super().forward(dict(inputs=[img for s in supports for img in s]), training)
        n = len(supports)
        return dict(inputs=query['inputs'], data_samples=query['data_samples'],
                    support_inputs=flat['inputs'].view(n, k, *flat['inputs'].shape[1:]),
                    support_masks=torch.stack(list(masks)).long().to(flat['inputs'].device))
