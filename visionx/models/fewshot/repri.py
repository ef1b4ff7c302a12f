"""RePRI transductive inference (Boudiaf et al., "Few-Shot Segmentation Without Meta-Learning: A Good
Transductive Inference Is All You Need?", CVPR 2021; official ``src/classifier.py``).

For each task (K support images with binary masks, one query image) a linear classifier — prototype
``w`` (C,) and bias ``b`` — is optimised on the frozen, L2-normalised base features by

    L = λ_CE · CE(support) + λ_KL · KL(p̂_q ‖ π̂) + λ_H · H(query)

with plain SGD.  ``T`` tasks are optimised jointly but stay independent: every task has its own
``(w, b)`` and the objective is a sum of per-task terms, so a task's gradient never depends on another
task (official issue #18).

Shapes: ``T`` tasks, ``K`` shots, ``C`` feature channels, ``(h, w)`` feature map, ``(H, W)`` label frame.
Masks hold 1 (target class), 0 (anything else) and 255 (ignored).  Tasks with fewer shots than the
batch's ``K`` carry all-255 masks in the missing slots (as the official ``random_shot`` batches do).

Parity with the official code (deliberate, METHODS B §3.2 / §7):

- the bias starts at the mean query logit over *all* positions (valid or not);
- ``adapt_iter = 50`` means iterations ``1 .. 49``: 49 SGD steps;
- at the iterations listed in ``fb_param_update`` (the check is ``iteration + 1 in fb_param_update``,
  i.e. after the 9th step for the default ``[10]``) π̂ is re-estimated from the current soft query
  predictions **and λ_KL is increased by** ``kl_weight_increment`` (1 in the official code; 0 gives the
  paper's equation, where the weight stays at 1/K); no update in oracle mode or when λ_KL is 0;
- every ``log`` has a ``+1e-10`` inside, the cosine a ``+1e-10`` in its denominator, as in the code.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

from visionx.utils.errors import DataFormatError

IGNORE_INDEX = 255
EPS = 1e-10


def downsample_masks(masks: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Nearest-neighbour downsampling of label masks to the feature resolution (official behaviour).

    Args:
        masks: (T, K, H, W) integer masks.
        size: target (h, w).

    Returns:
        (T, K, h, w) long masks.
    """
    return F.interpolate(masks.float(), size=tuple(size), mode='nearest').long()


def prototype_init(features_s: torch.Tensor, masks_s: torch.Tensor) -> torch.Tensor:
    """Mean support feature over all foreground positions of all shots.

    Args:
        features_s: (T, K, C, h, w) support features.
        masks_s: (T, K, h, w) support masks at feature resolution.

    Returns:
        (T, C) prototypes (zero for a task whose support has no foreground position, as in the code).
    """
    fg = (masks_s == 1).unsqueeze(2).to(features_s.dtype)  # (T, K, 1, h, w)
    return (features_s * fg).sum(dim=(1, 3, 4)) / (fg.sum(dim=(1, 3, 4)) + EPS)


def cosine_logits(features: torch.Tensor, prototype: torch.Tensor, temperature: float,
                  feature_norms: torch.Tensor | None = None) -> torch.Tensor:
    """``τ · cos(f_j, w)`` at every position.

    Args:
        features: (T, K, C, h, w) features.
        prototype: (T, C) prototypes.
        temperature: τ (20 in the paper).
        feature_norms: optional cached ``features.norm(dim=2)`` (T, K, h, w).

    Returns:
        (T, K, h, w) logits.
    """
    if feature_norms is None:
        feature_norms = features.norm(dim=2)
    dots = torch.einsum('tkchw,tc->tkhw', features, prototype)
    proto_norm = prototype.norm(dim=1)[:, None, None, None]
    return temperature * dots / (proto_norm * feature_norms + EPS)


def fg_bg_probas(logits: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Background / foreground probabilities ``[1 − σ(s − b), σ(s − b)]``.

    Args:
        logits: (T, K, h, w) cosine logits.
        bias: (T,) biases.

    Returns:
        (T, K, 2, h, w) probabilities (channel 0 background, 1 foreground).
    """
    p_fg = torch.sigmoid(logits - bias[:, None, None, None]).unsqueeze(2)
    return torch.cat([1 - p_fg, p_fg], dim=2)


class EmptyTaskError(DataFormatError):
    """A task has no valid (non-255) support or query pixel at feature resolution.

    Attributes:
        tasks: indices of the offending tasks in the batch.
    """

    def __init__(self, message: str, tasks: list[int]) -> None:
        super().__init__(message)
        self.tasks = tasks


def _valid_count(valid: torch.Tensor, what: str) -> torch.Tensor:
    count = valid.sum(dim=(1, 2, 3))
    empty = (count == 0).nonzero().flatten().tolist()
    if empty:
        raise EmptyTaskError(f'RePRI: task(s) {empty} have no valid {what} pixel at feature resolution '
                             f'(every label pixel is {IGNORE_INDEX}); the loss would be NaN', empty)
    return count


def one_hot_fg_bg(masks: torch.Tensor) -> torch.Tensor:
    """(T, K, h, w) masks -> (T, K, 2, h, w) one-hot; ignored pixels count as background (the losses mask
    them out anyway, as in the code)."""
    return torch.stack([masks != 1, masks == 1], dim=2).float()


def support_cross_entropy(probas_s: torch.Tensor, masks_s: torch.Tensor) -> torch.Tensor:
    """Mean over valid support pixels (all shots) of ``−Σ_k y_k log(p_k + 1e-10)``.

    Args:
        probas_s: (T, K, 2, h, w) support probabilities.
        masks_s: (T, K, h, w) support masks at feature resolution.

    Returns:
        (T,) cross-entropies.
    """
    valid = (masks_s != IGNORE_INDEX).float()
    ce = -(valid.unsqueeze(2) * one_hot_fg_bg(masks_s) * torch.log(probas_s + EPS)).sum(dim=(1, 2, 3, 4))
    return ce / _valid_count(valid, 'support')


def query_marginal(probas_q: torch.Tensor, valid_q: torch.Tensor) -> torch.Tensor:
    """Mean prediction over valid query pixels, p̂_q.

    Args:
        probas_q: (T, 1, 2, h, w) query probabilities.
        valid_q: (T, 1, h, w) float validity mask.

    Returns:
        (T, 2) marginal distribution (background, foreground).
    """
    return (valid_q.unsqueeze(2) * probas_q).sum(dim=(1, 3, 4)) / _valid_count(valid_q, 'query')[:, None]


def query_entropy(probas_q: torch.Tensor, valid_q: torch.Tensor) -> torch.Tensor:
    """Mean Shannon entropy ``−Σ_k p_k log(p_k + 1e-10)`` over valid query pixels.

    Args:
        probas_q: (T, 1, 2, h, w) query probabilities.
        valid_q: (T, 1, h, w) float validity mask.

    Returns:
        (T,) entropies.
    """
    ent = -(valid_q.unsqueeze(2) * probas_q * torch.log(probas_q + EPS)).sum(dim=(1, 2, 3, 4))
    return ent / _valid_count(valid_q, 'query')


def proportion_kl(marginal: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
    """``KL(p̂ ‖ π̂) = Σ_k p̂_k log(p̂_k / (π̂_k + 1e-10))``.

    Args:
        marginal: (T, 2) p̂_q.
        prior: (T, 2) π̂.

    Returns:
        (T,) divergences.
    """
    return (marginal * torch.log(marginal / (prior + EPS))).sum(dim=1)


def oracle_proportion(masks_q: torch.Tensor) -> torch.Tensor:
    """True (background, foreground) proportion of the valid query pixels.

    Args:
        masks_q: (T, 1, h, w) query masks at feature resolution.

    Returns:
        (T, 2) proportions.
    """
    valid = (masks_q != IGNORE_INDEX).float()
    return (valid.unsqueeze(2) * one_hot_fg_bg(masks_q)).sum(dim=(1, 3, 4)) / _valid_count(valid, 'query')[:, None]


@dataclass
class RePRIState:
    """The per-task classifier after inference.

    Attributes:
        prototype: (T, C) prototypes ``w``.
        bias: (T,) biases ``b``.
        prior: (T, 2) the last foreground/background proportion π̂ used.
        initial_prior: (T, 2) π̂ before the transductive steps.
    """
    prototype: torch.Tensor
    bias: torch.Tensor
    prior: torch.Tensor
    initial_prior: torch.Tensor


class RePRIClassifier:
    """RePRI's per-task transductive classifier (plain object: it holds no trained weights).

    Args:
        temperature: τ of the cosine logits (20).
        adapt_iter: the official ``adapt_iter``; ``adapt_iter − 1`` SGD steps are taken (50 -> 49).
            ``adapt_iter=1`` takes none: the initial prototype classifier.
        weights: ``(λ_CE, λ_KL, λ_H)``; ``'auto'`` for λ_KL or λ_H means ``1/K`` (K = shots of the task).
        lr: SGD learning rate (0.025, no momentum).
        fb_param_update: iterations ``i`` whose ``i + 1`` is listed re-estimate π̂ (official ``[10]``).
        fb_param_type: ``'soft'`` (π̂ from the classifier's own soft query predictions) or ``'oracle'``
            (π̂ = true query foreground proportion, never updated).
        kl_weight_increment: added to λ_KL at every π̂ update (official code: 1; paper's equation: 0).
        norm_feat: L2-normalise the features along channels first (official ``norm_feat: True``).
    """

    def __init__(self, temperature: float = 20.0, adapt_iter: int = 50,
                 weights: Sequence[float | str] = (1.0, 'auto', 'auto'), lr: float = 0.025,
                 fb_param_update: Sequence[int] = (10,), fb_param_type: str = 'soft',
                 kl_weight_increment: float = 1.0, norm_feat: bool = True) -> None:
        if fb_param_type not in ('soft', 'oracle'):
            raise ValueError(f"fb_param_type must be 'soft' or 'oracle', got {fb_param_type!r}")
        if int(adapt_iter) < 1:
            raise ValueError(f'adapt_iter must be >= 1 (1 = no transductive step), got {adapt_iter}')
        if len(weights) != 3:
            raise ValueError(f'weights must be (λ_CE, λ_KL, λ_H), got {weights!r}')
        for name, w in zip(('λ_KL', 'λ_H'), weights[1:]):
            if isinstance(w, str) and w != 'auto':
                raise ValueError(f"{name} must be a number or 'auto', got {w!r}")
        if isinstance(weights[0], str):
            raise ValueError(f'λ_CE must be a number, got {weights[0]!r}')
        self.temperature = float(temperature)
        self.adapt_iter = int(adapt_iter)
        self.weights = tuple(weights)
        self.lr = float(lr)
        self.fb_param_update = tuple(int(i) for i in fb_param_update)
        self.fb_param_type = fb_param_type
        self.kl_weight_increment = float(kl_weight_increment)
        self.norm_feat = bool(norm_feat)

    def _lambda(self, weight: float | str, n_shots: torch.Tensor) -> torch.Tensor:
        if weight == 'auto':
            return 1.0 / n_shots
        return float(weight) * torch.ones_like(n_shots)

    def fit(self, features_s: torch.Tensor, features_q: torch.Tensor, masks_s: torch.Tensor,
            masks_q: torch.Tensor, n_shots: torch.Tensor | None = None) -> RePRIState:
        """Run the transductive inference of every task.

        Args:
            features_s: (T, K, C, h, w) support features (not yet normalised).
            features_q: (T, 1, C, h, w) query features.
            masks_s: (T, K, H, W) or (T, K, h, w) support masks (0/1/255).
            masks_q: (T, 1, H, W) or (T, 1, h, w) query masks; used only for the valid-pixel mask and
                the oracle proportion.
            n_shots: (T,) shots per task; defaults to K for every task.

        Returns:
            The optimised per-task classifier.
        """
        if features_s.dim() != 5 or features_q.dim() != 5 or features_q.shape[1] != 1:
            raise ValueError(f'features must be (T, K, C, h, w) and (T, 1, C, h, w), got '
                             f'{tuple(features_s.shape)} and {tuple(features_q.shape)}')
        n_tasks = features_s.shape[0]
        if n_shots is None:
            n_shots = torch.full((n_tasks,), float(features_s.shape[1]), device=features_s.device)
        n_shots = n_shots.to(features_s.device, torch.float32)
        with torch.no_grad():
            if self.norm_feat:
                features_s = F.normalize(features_s, dim=2)
                features_q = F.normalize(features_q, dim=2)
            size = features_s.shape[-2:]
            ds_s = downsample_masks(masks_s, size)  # once per task, not per step
            ds_q = downsample_masks(masks_q, size)
            valid_q = (ds_q != IGNORE_INDEX).float()
            norms_s, norms_q = features_s.norm(dim=2), features_q.norm(dim=2)

            prototype = prototype_init(features_s, ds_s)
            bias = cosine_logits(features_q, prototype, self.temperature, norms_q).mean(dim=(1, 2, 3))
            if self.fb_param_type == 'oracle':
                prior = oracle_proportion(ds_q)
            else:
                prior = query_marginal(fg_bg_probas(
                    cosine_logits(features_q, prototype, self.temperature, norms_q), bias), valid_q)
            initial_prior = prior.clone()

        l_ce = float(self.weights[0])
        l_kl = self._lambda(self.weights[1], n_shots)
        l_h = self._lambda(self.weights[2], n_shots)
        prototype.requires_grad_()
        bias.requires_grad_()
        optimizer = torch.optim.SGD([prototype, bias], lr=self.lr)
        with torch.enable_grad():
            for iteration in range(1, self.adapt_iter):
                probas_s = fg_bg_probas(cosine_logits(features_s, prototype, self.temperature, norms_s), bias)
                probas_q = fg_bg_probas(cosine_logits(features_q, prototype, self.temperature, norms_q), bias)
                marginal = query_marginal(probas_q, valid_q)
                loss = (l_ce * support_cross_entropy(probas_s, ds_s) + l_kl * proportion_kl(marginal, prior)
                        + l_h * query_entropy(probas_q, valid_q))
                optimizer.zero_grad()
                loss.sum().backward()
                optimizer.step()
                if ((iteration + 1) in self.fb_param_update and self.fb_param_type != 'oracle'
                        and l_kl.sum().item() != 0):
                    with torch.no_grad():
                        prior = query_marginal(fg_bg_probas(
                            cosine_logits(features_q, prototype, self.temperature, norms_q), bias), valid_q)
                    l_kl = l_kl + self.kl_weight_increment
        return RePRIState(prototype.detach(), bias.detach(), prior.detach(), initial_prior)

    @torch.no_grad()
    def predict(self, state: RePRIState, features_q: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        """Binary query masks in the label frame.

        Logits are upsampled bilinearly (``align_corners=True``) to ``size`` before the bias is applied;
        a pixel is foreground iff ``p_fg > p_bg`` (the official argmax keeps background on a tie).

        Args:
            state: the fitted classifier.
            features_q: (T, 1, C, h, w) query features.
            size: (H, W) of the label frame (417×417 padded frame in the official protocol).

        Returns:
            (T, H, W) long masks (1 foreground, 0 background).
        """
        if self.norm_feat:
            features_q = F.normalize(features_q, dim=2)
        logits = cosine_logits(features_q, state.prototype, self.temperature)  # (T, 1, h, w)
        logits = F.interpolate(logits, size=tuple(size), mode='bilinear', align_corners=True)
        probas = fg_bg_probas(logits, state.bias)
        return (probas[:, 0, 1] > probas[:, 0, 0]).long()
