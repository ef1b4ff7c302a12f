"""TraCoCo: translation-consistent co-training of two 3D segmentation networks.

Reference: Liu, Tian, Wang, Chen, Carneiro, "Translation Consistent Semi-supervised Segmentation for 3D
Medical Images", arXiv 2203.14523 (IEEE TMI).  Facts and formulas: ``docs/METHODS.md`` part B §2.

Per iteration and per network k (the peer is k'), on a batch of labelled + unlabelled samples each
carrying a main crop and a translated crop of the same volume::

    L_k = L_sup + w(t) · [L_cbc + spatial_weight · L_trans + hyp · R]

with ``L_sup`` = 0.5 (CE + Dice) on the labelled samples (noisy main view), ``L_trans`` the KL between
the two views' logits on their overlap (``spatial_weight`` is the ``loss_weight`` of ``trans_loss``), ``R``
the negative entropy on that overlap (``hyp`` is the ``loss_weight`` of ``entropy_loss``), ``L_cbc`` the confident
cross-model BCE against the peer's pseudo-logits on the *clean* main view (for the second network the input
and the pseudo-logits are CutMix'd), and ``w(t) = unsup_weight · exp(−5 (1 − min(t, T)/T)²)``.

Implementation notes (equivalent to, but organised differently from, the official loop):

* both pseudo-logit maps are computed first under ``no_grad`` with the networks in ``train()`` mode
  (dropout active, as in the official code); then network 1 and network 2 are each updated through their
  own optimizer of an :class:`~mmengine.optim.OptimWrapperDict`.  Because neither loss depends on the
  other network's *updated* weights, this gives the same gradients as the official single backward while
  holding only one network's graph in memory;
* every network forward sees the whole batch (labelled + unlabelled) as in the official code, so
  BatchNorm statistics are the same;
* ``unsup_weight = 0`` turns the model into two independent supervised networks (the baseline) and skips
  the unlabelled forward passes.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict
from mmengine.structures import BaseDataElement

from visionx.registry import MODELS

from .cutmix import cutmix_3d
from .inference import remove_small_components, sliding_window_predict

NETS = ('net1', 'net2')


def sigmoid_rampup(t: float, length: float) -> float:
    """``exp(−5 (1 − min(t, length)/length)²)``; 1 when ``length`` is 0."""
    if length <= 0:
        return 1.0
    phase = 1.0 - min(max(t, 0.0), length) / length
    return float(math.exp(-5.0 * phase * phase))


@MODELS.register_module()
class TraCoCo(BaseModel):
    """Two co-trained 3D networks with translation consistency and cross-model confident BCE.

    The four losses are built from config; each is logged under its own ``loss_name`` (prefixed ``net1.`` /
    ``net2.``), so the names must differ.

    Args:
        backbone: Config of one network (``VNet`` or ``MedicalUNet3D``); built twice, independently initialised.
        num_classes: Output classes.
        sup_loss: Supervised loss config (``TraCoCoSupLoss``, on the labelled samples).
        cbc_loss: Pseudo-label loss config (``CBCLoss``, τ⁺ = 0.65, τ⁻ = 0.1), scaled by ``w(t)``.
        trans_loss: Translation-consistency loss config (``TranslationConsistencyLoss``), scaled by ``w(t)``;
            its ``loss_weight`` is ``spatial_weight`` (0.3 LA / BraTS, 1.0 Pancreas), its ``reduction`` sums
            (official) or averages over samples, its ``clamp_logits`` is the official clamp of the raw logits
            to [1e-6, 1] before the softmax.
        entropy_loss: Negative-entropy regulariser config (``OverlapNegEntropyLoss``), scaled by ``w(t)``;
            its ``loss_weight`` is ``hyp`` (0.1 LA / Pancreas, 0.05 BraTS).
        unsup_weight: Final weight of the unsupervised part (0.3 or 1.0, see the configs); 0 gives the
            supervised-only baseline.
        rampup_iters: Sigmoid ramp-up length T in iterations (40 epochs × ``labeled_num // 2``).
        noise_range: Input noise ``U(−r, r)`` added to every trained forward pass (0.2 LA, 0.05 others).
        noise_clamp: Clamp the noisy input to [0, 1] (BraTS / Pancreas) or not (LA).
        cutmix_beta: CutMix ``lam ~ Beta(beta, beta)``.
        cutmix_full_depth: Official quirk: the CutMix box spans the whole depth (prism).  False uses a
            cuboid box (see :func:`~visionx.models.medical.cutmix.rand_boxes_3d`).
        test_cfg: Inference settings: ``patch_size``, ``strides``, ``batch_size`` (windows per forward),
            ``eval_nets`` (networks evaluated, default both), ``output`` (``'net1'``, ``'net2'`` or ``'mean'``
            of the probabilities, stored as ``pred_label``), ``post_min_size`` (drop components smaller than
            this, None = off), ``keep_largest`` (keep the largest component only).
        data_preprocessor: Defaults to :class:`VolumeDataPreprocessor`.
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self, backbone: dict, num_classes: int = 2, sup_loss: dict = dict(type='TraCoCoSupLoss'),
                 cbc_loss: dict = dict(type='CBCLoss', tau_pos=0.65, tau_neg=0.1),
                 trans_loss: dict = dict(type='TranslationConsistencyLoss', loss_weight=0.3, reduction='sum'),
                 entropy_loss: dict = dict(type='OverlapNegEntropyLoss', loss_weight=0.1),
                 unsup_weight: float = 1.0, rampup_iters: int = 160,
                 noise_range: float = 0.2, noise_clamp: bool = False, cutmix_beta: float = 4.0,
                 cutmix_full_depth: bool = True, test_cfg: dict | None = None,
                 data_preprocessor: dict | None = None, init_cfg: dict | list | None = None) -> None:
        data_preprocessor = data_preprocessor or dict(type='VolumeDataPreprocessor')
        if isinstance(data_preprocessor, dict):  # build from VisionX's registry whatever the default scope
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.net1 = MODELS.build(backbone)
        self.net2 = MODELS.build(backbone)
        self.num_classes = num_classes
        self.sup_loss = MODELS.build(sup_loss)
        self.cbc_loss = MODELS.build(cbc_loss)
        self.trans_loss = MODELS.build(trans_loss)
        self.entropy_loss = MODELS.build(entropy_loss)
        names = [m.loss_name for m in (self.sup_loss, self.cbc_loss, self.trans_loss, self.entropy_loss)]
        if len(set(names)) != len(names):
            raise ValueError(f'TraCoCo: sup_loss, cbc_loss, trans_loss and entropy_loss need distinct loss_name '
                             f'values, got {names}')
        self.unsup_weight, self.rampup_iters = unsup_weight, rampup_iters
        self.noise_range, self.noise_clamp = noise_range, noise_clamp
        self.cutmix_beta, self.cutmix_full_depth = cutmix_beta, cutmix_full_depth
        self.test_cfg = dict(patch_size=(112, 112, 80), strides=(18, 18, 4), batch_size=4,
                             eval_nets=NETS, output='net1', post_min_size=None, keep_largest=False)
        self.test_cfg.update(test_cfg or {})
        if self.test_cfg['output'] not in (*NETS, 'mean'):
            raise ValueError(f"test_cfg.output must be 'net1', 'net2' or 'mean', got {self.test_cfg['output']!r}")
        unknown = [n for n in self.test_cfg['eval_nets'] if n not in NETS]
        if unknown:
            raise ValueError(f'test_cfg.eval_nets: unknown networks {unknown}; choose among {list(NETS)}')
        # Iterations seen, for the ramp-up; a buffer so that it is saved in checkpoints and resumed.
        self.register_buffer('iter_count', torch.zeros((), dtype=torch.long))

    # ----------------------------------------------------------------------------------------- training
    def unsup_ramp(self, t: int) -> float:
        """``w(t)``; ``t`` counts from 1 as in the official loop."""
        return self.unsup_weight * sigmoid_rampup(t, self.rampup_iters)

    def _noisy(self, x: torch.Tensor) -> torch.Tensor:
        if self.noise_range <= 0:
            return x
        x = x + torch.empty_like(x).uniform_(-self.noise_range, self.noise_range)
        return x.clamp(0, 1) if self.noise_clamp else x

    @staticmethod
    def _unpack(inputs: torch.Tensor | Sequence[torch.Tensor], samples: Sequence[BaseDataElement]):
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        if inputs.dim() != 6 or inputs.shape[1] != 2:
            raise ValueError('TraCoCo training expects inputs of shape (B, 2 views, C, X, Y, Z) from '
                             f'TranslatedViewCrop3D + PackVolumeInputs, got {tuple(inputs.shape)}')
        labels = torch.stack([s.gt_label for s in samples]).to(inputs.device).long()
        labeled = torch.tensor([bool(s.is_labeled) for s in samples], device=inputs.device)
        boxes_main = [s.overlap[0] for s in samples]
        boxes_trans = [s.overlap[1] for s in samples]
        return inputs[:, 0], inputs[:, 1], labels[:, 0], labeled, boxes_main, boxes_trans

    def _net_losses(self, name: str, x_main: torch.Tensor, x_trans: torch.Tensor, y_main: torch.Tensor,
                    labeled: torch.Tensor, boxes_main, boxes_trans, peer_logits: torch.Tensor | None,
                    w: float) -> dict[str, torch.Tensor]:
        net = getattr(self, name)
        z_main = net(self._noisy(x_main))
        losses = {}
        if labeled.any():
            losses[self.sup_loss.loss_name] = self.sup_loss(z_main[labeled], y_main[labeled])
        else:
            losses[self.sup_loss.loss_name] = z_main.sum() * 0
        if peer_logits is None:  # supervised-only baseline
            return losses
        z_trans = net(self._noisy(x_trans))
        l_trans = self.trans_loss(z_main, z_trans, boxes_main, boxes_trans)
        l_ent = self.entropy_loss(z_main, z_trans, boxes_main, boxes_trans)
        unlabeled = ~labeled
        if unlabeled.any():
            if name == 'net2':  # the asymmetric branch: CutMix'd input and pseudo-logits
                x_u, target = cutmix_3d(x_main, peer_logits, self.cutmix_beta, self.cutmix_full_depth)
            else:
                x_u, target = x_main, peer_logits
            z_u = net(self._noisy(x_u))
            l_cbc = self.cbc_loss(z_u[unlabeled], target[unlabeled])
        else:
            l_cbc = z_main.sum() * 0
        losses[self.cbc_loss.loss_name] = w * l_cbc
        losses[self.trans_loss.loss_name] = w * l_trans
        # Negative entropy: its value is <= 0; its name keeps the 'loss_' prefix so it is optimised.
        losses[self.entropy_loss.loss_name] = w * l_ent
        return losses

    def _peer_logits(self, x_main: torch.Tensor) -> dict[str, torch.Tensor | None]:
        if self.unsup_weight == 0:
            return {n: None for n in NETS}
        with torch.no_grad():
            out1, out2 = self.net1(x_main), self.net2(x_main)
        return {'net1': out2, 'net2': out1}  # each network learns from its peer

    def train_step(self, data: dict | tuple | list, optim_wrapper: OptimWrapperDict) -> dict[str, torch.Tensor]:
        """One co-training iteration: pseudo-labels, then an update of each network by its own optimizer."""
        if not isinstance(optim_wrapper, OptimWrapperDict) or set(NETS) - set(optim_wrapper.keys()):
            raise ValueError('TraCoCo needs an OptimWrapperDict with keys net1 and net2; use '
                             "optim_wrapper=dict(constructor='CoTrainingOptimWrapperConstructor', net1=..., net2=...)")
        data = self.data_preprocessor(data, True)
        x_main, x_trans, y_main, labeled, bm, bt = self._unpack(data['inputs'], data['data_samples'])
        t = int(self.iter_count) + 1
        w = self.unsup_ramp(t)
        peers = self._peer_logits(x_main)
        log_vars = {}
        for name in NETS:
            wrapper = optim_wrapper[name]
            with wrapper.optim_context(getattr(self, name)):
                losses = self._net_losses(name, x_main, x_trans, y_main, labeled, bm, bt, peers[name], w)
            loss, parsed = self.parse_losses(losses)
            wrapper.update_params(loss)
            log_vars.update({f'{name}.{k}': v for k, v in parsed.items()})
        self.iter_count += 1
        log_vars['unsup_w'] = torch.tensor(w)
        return log_vars

    def loss(self, inputs: torch.Tensor, data_samples: Sequence[BaseDataElement]) -> dict[str, torch.Tensor]:
        """Both networks' losses (no update); keys are prefixed ``net1.`` / ``net2.``."""
        x_main, x_trans, y_main, labeled, bm, bt = self._unpack(inputs, data_samples)
        w = self.unsup_ramp(int(self.iter_count) + 1)
        peers = self._peer_logits(x_main)
        out = {}
        for name in NETS:
            out.update({f'{name}.{k}': v for k, v in
                        self._net_losses(name, x_main, x_trans, y_main, labeled, bm, bt, peers[name], w).items()})
        return out

    # ---------------------------------------------------------------------------------------- inference
    def predict_probs(self, volume: torch.Tensor, name: str) -> torch.Tensor:
        """Sliding-window probabilities (num_classes, X, Y, Z) of network ``name`` for a (C, X, Y, Z) volume."""
        cfg = self.test_cfg
        return sliding_window_predict(getattr(self, name), volume, cfg['patch_size'], cfg['strides'],
                                      self.num_classes, cfg['batch_size'])

    def _finish(self, probs: torch.Tensor) -> np.ndarray:
        label = probs.argmax(0).to(torch.uint8).cpu().numpy()
        cfg = self.test_cfg
        if cfg.get('keep_largest') or cfg.get('post_min_size'):
            label = remove_small_components(label, cfg.get('post_min_size') or 0, bool(cfg.get('keep_largest')))
        return label

    def predict(self, inputs: torch.Tensor | Sequence[torch.Tensor],
                data_samples: Sequence[BaseDataElement] | None = None) -> list[BaseDataElement]:
        """Segment whole volumes by sliding-window inference with each network in ``test_cfg.eval_nets``.

        Args:
            inputs: (B, C, X, Y, Z) or a list of (C, X, Y, Z) volumes.
            data_samples: Matching samples (ground truth and meta information), or None.

        Returns:
            The samples with ``pred_label_<net>`` (uint8 (X, Y, Z) arrays, one per evaluated network) and
            ``pred_label`` (the network or mean chosen by ``test_cfg.output``).
        """
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(len(inputs))]
        cfg = self.test_cfg
        names = list(cfg['eval_nets'])
        for volume, sample in zip(inputs, data_samples):
            if volume.dim() != 4:
                raise ValueError(f'predict expects (C, X, Y, Z) volumes, got shape {tuple(volume.shape)}')
            needed = set(names) | ({'net1', 'net2'} if cfg['output'] == 'mean' else {cfg['output']})
            probs = {n: self.predict_probs(volume, n) for n in NETS if n in needed}
            for n in names:
                sample.set_field(self._finish(probs[n]), f'pred_label_{n}')
            out = (probs['net1'] + probs['net2']) / 2 if cfg['output'] == 'mean' else probs[cfg['output']]
            sample.set_field(self._finish(out), 'pred_label')
        return list(data_samples)

    def _forward(self, inputs: torch.Tensor, data_samples=None) -> torch.Tensor:
        """Raw logits of network 1 for a (B, C, X, Y, Z) batch of patches."""
        return self.net1(inputs)

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")
