"""``BACSReplayHook``: BACS's Dark Experience Replay++ buffer across the steps of a class-incremental run.

Reference: METHODS.md part B §5.2.3; official ``loss/bacs_loss.py`` (``on_train_start`` / ``on_train_end``).

* **End of every step but the last** (``after_train``): one pass over the step's training set, in order
  (official: the train dataloader with shuffling off, train augmentation kept), with the trained model in eval
  mode.  Each image's stored input crop (uint8, the pipeline's padded crop), stride-16 logits, labels,
  importance and seen map go through the buffer's score-based reservoir
  (:class:`~visionx.datasets.ciss.replay.ReplayBuffer`), starting from the previous step's buffer; the result
  is saved atomically to ``<step work_dir>/replay_buffer`` (next to the step's checkpoints).
* **Steps >= 1** (``before_train``): the buffer written by the previous step is opened read-only (memory-mapped)
  from the folder of ``model.prev_checkpoint`` (or ``buffer_dir``); a missing or corrupted buffer is an error
  naming the file, never a silent fresh start.  Each training iteration the model draws one replay mini-batch
  of ``batch_size`` samples (random autocontrast with probability ``autocontrast_prob`` on the uint8 image,
  then the data preprocessor's normalisation).  The draw generator (seeded with ``seed + rank``) is saved in
  every checkpoint and restored on resume, so a resumed step draws the same replay batches as an
  uninterrupted one; the buffer itself is never written during a step.
"""
from __future__ import annotations

import os.path as osp
import time

import numpy as np
import torch
from mmengine.dist import barrier, get_rank, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop

from visionx.registry import HOOKS
from .rank_states import RankStates
from visionx.utils.errors import ConfigError, UserFileNotFoundError

BUFFER_DIR = 'replay_buffer'
RNG_KEY = 'bacs_replay_generator'


def autocontrast(images: torch.Tensor, apply: torch.Tensor) -> torch.Tensor:
    """Per-image, per-channel contrast stretch of uint8 images ``(N, 3, H, W)`` to ``[0, 255]`` where ``apply``
    (``(N,)`` bool) is set (torchvision's ``autocontrast``: channels with max == min are left as they are).
    Returns float images in ``[0, 255]``."""
    x = images.float()
    lo = x.amin(dim=(2, 3), keepdim=True)
    hi = x.amax(dim=(2, 3), keepdim=True)
    flat = hi == lo
    scale = torch.where(flat, torch.ones_like(hi), 255.0 / (hi - lo).clamp_min(1e-12))
    lo = torch.where(flat, torch.zeros_like(lo), lo)
    out = ((x - lo) * scale).clamp(0, 255)
    return torch.where(apply.view(-1, 1, 1, 1), out, x)


class ReplaySampler:
    """Draws normalised replay mini-batches from a buffer for :class:`~visionx.models.ciss.BACSSegmentor`.

    Args:
        buffer: the (read-only) :class:`~visionx.datasets.ciss.replay.ReplayBuffer`.
        batch_size: samples per draw.
        mean, std: the data preprocessor's normalisation (RGB order: the buffer stores RGB crops).
        generator: CPU ``torch.Generator`` of the draws and of the autocontrast coin flips.
        autocontrast_prob: probability of autocontrast per image.
    """

    def __init__(self, buffer, batch_size: int, mean: torch.Tensor, std: torch.Tensor,
                 generator: torch.Generator, autocontrast_prob: float = 0.5) -> None:
        self.buffer, self.batch_size = buffer, batch_size
        self.mean, self.std = mean.view(1, -1, 1, 1).float().cpu(), std.view(1, -1, 1, 1).float().cpu()
        self.generator, self.autocontrast_prob = generator, autocontrast_prob

    def next_batch(self, device) -> dict:
        batch = self.buffer.sample(self.batch_size, generator=self.generator)
        images = batch['images']
        flip = torch.rand(images.shape[0], generator=self.generator) < self.autocontrast_prob
        inputs = (autocontrast(images, flip) - self.mean) / self.std
        return dict(inputs=inputs.to(device), labels=batch['labels'].long().to(device),
                    logits=batch['logits'].float().to(device), num_classes=batch['num_classes'].long().to(device))


@torch.no_grad()
def fill_batch(model, buffer, data: dict, generator: np.random.Generator, capacity: int | None = None,
               total_classes: int | None = None):
    """Offer one preprocessed batch to the replay buffer (the per-batch part of :meth:`BACSReplayHook.fill`).

    ``model.buffer_entries`` (logits, importance, seen map), the inputs de-normalised back to uint8 with the
    data preprocessor's mean / std, then :meth:`ReplayBuffer.add` through the reservoir.  The model's
    train / eval mode is left to the caller (the fill runs in eval mode).

    Args:
        model: a :class:`~visionx.models.ciss.BACSSegmentor`.
        buffer: the :class:`~visionx.datasets.ciss.replay.ReplayBuffer` to fill (writable), or ``None``: a new
            one of ``capacity`` samples, the batch's image shape and ``(total_classes, h, w)`` logits.
        data: the data preprocessor's output (``inputs`` (B, 3, H, W) normalised, ``data_samples`` with
            ``gt_sem_seg``).
        generator: the reservoir's draws.

    Returns:
        The buffer (the new one when ``buffer`` was ``None``).
    """
    from visionx.datasets.ciss.replay import ReplayBuffer
    pre = model.data_preprocessor
    inputs = data['inputs']
    labels = torch.stack([s.gt_sem_seg.data.squeeze(0) for s in data['data_samples']]).long()
    out = model.buffer_entries(inputs, labels)
    images = (inputs * pre.std.view(1, -1, 1, 1) + pre.mean.view(1, -1, 1, 1)).round().clamp(0, 255)
    images = images.to(torch.uint8)
    logits = out['logits']
    if buffer is None:
        if capacity is None or total_classes is None:
            raise ConfigError('fill_batch: a new buffer (buffer=None) needs capacity and total_classes')
        buffer = ReplayBuffer(capacity, image_shape=tuple(images.shape[1:]),
                              logit_shape=(total_classes, *logits.shape[-2:]))
    num_classes = torch.full((images.shape[0],), logits.shape[1], dtype=torch.long)
    buffer.add(images=images.cpu(), labels=labels.to(torch.uint8).cpu(), logits=logits.float().cpu(),
               num_classes=num_classes, seen=out['seen'].cpu(), task=model.step,
               importance=out['importance'].float().cpu(), generator=generator)
    return buffer


def _model(runner):
    return runner.model.module if is_model_wrapper(runner.model) else runner.model


@HOOKS.register_module()
class BACSReplayHook(Hook):
    """Fill, save, open and sample BACS's replay buffer (see the module docstring).

    Args:
        capacity: samples the buffer holds across all tasks (official 300).
        batch_size: replay samples per training iteration (official 12).
        autocontrast_prob: random autocontrast probability of the replayed images (official 0.5).
        fill_batch_size: images per forward pass of the end-of-step fill (default: the train batch size).
        seed: seed of the replay draws (``seed + rank``) and of the reservoir.
        buffer_dir: the previous step's buffer; default ``<folder of model.prev_checkpoint>/replay_buffer``.
        log_interval: fill progress is logged every this many batches.
    """

    priority = 'LOW'

    def __init__(self, capacity: int = 300, batch_size: int = 12, autocontrast_prob: float = 0.5,
                 fill_batch_size: int | None = None, seed: int = 0, buffer_dir: str | None = None,
                 log_interval: int = 50) -> None:
        if capacity < 1 or batch_size < 1 or not 0.0 <= autocontrast_prob <= 1.0:
            raise ConfigError(f'BACSReplayHook: need capacity >= 1, batch_size >= 1 and 0 <= autocontrast_prob '
                              f'<= 1, got {capacity}, {batch_size}, {autocontrast_prob}')
        self.capacity, self.batch_size, self.autocontrast_prob = capacity, batch_size, autocontrast_prob
        self.fill_batch_size, self.seed, self.buffer_dir = fill_batch_size, seed, buffer_dir
        self.log_interval = log_interval
        self.sampler: ReplaySampler | None = None
        self.buffer = None
        self._pending_state: torch.Tensor | None = None
        self._ranks = RankStates(RNG_KEY)

    # opening the previous buffer ---------------------------------------------------------------------
    def previous_buffer_dir(self, model) -> str:
        if self.buffer_dir is not None:
            return self.buffer_dir
        if not model.prev_checkpoint:
            raise ConfigError('BACSReplayHook: step >= 1 without model.prev_checkpoint; set buffer_dir')
        return osp.join(osp.dirname(osp.abspath(model.prev_checkpoint)), BUFFER_DIR)

    def _check_model(self, runner):
        model = _model(runner)
        if not hasattr(model, 'buffer_entries'):
            raise ConfigError(f'BACSReplayHook needs a BACSSegmentor, the model is {type(model).__name__}')
        return model

    def before_train(self, runner) -> None:
        """Open the previous step's buffer (steps >= 1) and hand the model a sampler."""
        from visionx.datasets.ciss.replay import ReplayBuffer
        model = self._check_model(runner)
        model.replay = None
        if model.detector_loss_epochs is None and isinstance(runner.train_loop, IterBasedTrainLoop):
            raise ConfigError('BACSSegmentor.detector_loss_epochs=None follows the epochs of an epoch-based train '
                              'loop, but this one counts iterations (the detector-loss weight would stay at '
                              '1 - 1/e); set model.detector_loss_epochs to the number of epochs it stands for')
        if not model.wants_replay:
            return
        path = self.previous_buffer_dir(model)
        if not osp.isdir(path):
            raise UserFileNotFoundError(f'{path}: the replay buffer of step {model.step - 1} is missing (it is '
                                        'written at the end of every step but the last; train that step again, '
                                        'or set BACSReplayHook.buffer_dir)')
        self.buffer = ReplayBuffer.load(path)
        if len(self.buffer) == 0:
            raise ConfigError(f'{path}: the replay buffer is empty')
        if self.buffer.capacity != self.capacity:  # later steps keep filling the loaded buffer at its capacity
            raise ConfigError(f'{path}: the replay buffer holds {self.buffer.capacity} samples but '
                              f'BACSReplayHook.capacity is {self.capacity}; the capacity is fixed at step 0 '
                              '(set it there, for every step)')
        pre = model.data_preprocessor
        generator = torch.Generator().manual_seed(self.seed + get_rank())
        if self._pending_state is not None:  # resumed: continue the draws where the checkpoint left them
            generator.set_state(self._pending_state)
            self._pending_state = None
        self.sampler = ReplaySampler(self.buffer, self.batch_size, pre.mean, pre.std, generator,
                                     self.autocontrast_prob)
        model.replay = self.sampler
        runner.logger.info(f'BACS replay: {len(self.buffer)} samples from {path}')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.sampler is not None:  # every rank's draw state, for rank 0's checkpoint (RankStates)
            self._ranks.gather(runner, self.sampler.generator.get_state())

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.sampler is not None:
            self._ranks.write(runner, checkpoint, self.sampler.generator.get_state())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the checkpoint's draw-generator state for ``before_train`` (resume loads before training; a
        ``load_from`` start keeps the seeded draws)."""
        self._pending_state = self._ranks.read(runner, checkpoint)

    # filling at the end of a step --------------------------------------------------------------------
    def after_train(self, runner) -> None:
        from visionx.engine.incremental import task_of
        model = self._check_model(runner)
        model.replay = None
        task = task_of(runner.cfg)
        if model.step >= task.num_steps - 1:
            return  # the last step writes no buffer (official pre_last_tasks)
        if is_main_process():
            self.fill(runner, model, total_classes=sum(task.classes_per_step))
        barrier()

    @torch.no_grad()
    def fill(self, runner, model, total_classes: int) -> str:
        """One ordered pass over the step's training set into the buffer; saved atomically; returns its path."""
        from torch.utils.data import DataLoader

        loader = runner.train_dataloader
        bs = self.fill_batch_size or loader.batch_size or 1
        ordered = DataLoader(loader.dataset, batch_size=bs, shuffle=False, num_workers=0,
                             collate_fn=loader.collate_fn)
        buffer = self.buffer.copy() if self.buffer is not None else None
        reservoir = np.random.default_rng(self.seed + 1000 * (model.step + 1))
        was_training = model.training
        model.eval()
        pre = model.data_preprocessor
        start, n_images = time.perf_counter(), 0
        try:
            for i, data in enumerate(ordered):
                data = pre(data, True)
                buffer = fill_batch(model, buffer, data, reservoir, capacity=self.capacity,
                                    total_classes=total_classes)
                n_images += data['inputs'].shape[0]
                if (i + 1) % self.log_interval == 0:
                    runner.logger.info(f'BACS replay fill: {n_images}/{len(loader.dataset)} images')
        finally:
            model.train(was_training)
        path = osp.join(runner.work_dir, BUFFER_DIR)
        buffer.save(path)
        secs = time.perf_counter() - start
        runner.logger.info(f'BACS replay fill: {n_images} images in {secs:.1f} s '
                           f'({1000 * secs / max(n_images, 1):.1f} s per 1,000); {len(buffer)} samples saved to '
                           f'{path}')
        return path


__all__ = ['BACSReplayHook', 'ReplaySampler', 'autocontrast', 'fill_batch', 'BUFFER_DIR']
