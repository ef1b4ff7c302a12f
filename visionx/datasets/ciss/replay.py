"""BACS Dark Experience Replay++ buffer: score-based reservoir storage persisted as ``.npy`` memory maps.

Reference: METHODS.md part B §5.2.3; official ``training/buffer.py`` (``Buffer.functionalReservoir``,
``Buffer.merge_scores``, ``Buffer.add_data``), ``loss/bacs_loss.py`` (``on_train_end``, ``_add_to_buffer``),
``loss/experience_replay.py`` and ``dataloaders/base_datamodule.py`` (``get_buffer_loader``,
``get_logits_loader``) of mostafaelaraby/BACS-Continual-Semantic-Segmentation;
configs ``conf/{experiments,bacs}/loss/bacs_plus.yaml`` (``buffer_size: 300``, ``same_task: false``).

One buffer of ``capacity`` samples (300 in BACS) is shared by all tasks.  At the end of every task but the
last, a pass over that task's training set offers each sample to :meth:`ReplayBuffer.add`:

* **Reservoir rule** (official ``functionalReservoir``).  With ``N`` samples offered so far (the reservoir
  counter, kept across tasks) and capacity ``m``: if ``N < m`` the sample goes to free slot ``N`` (slots fill
  in order); otherwise ``r ~ U{0, ..., N-1}`` is drawn and the sample is kept only if ``r < m``, in the slot
  drawn from the replacement probabilities :func:`replay_scores` of the samples stored *before* it.  The
  counter grows by one either way.
* **Replacement probabilities** (official ``merge_scores``), over the ``m`` stored samples:

  - *importance* ``I_i``: what the caller passes; in BACS ``-mean_pixels CE(logits, labels)`` of the model
    that just finished the task, computed with ``F.cross_entropy(..., weight=w, ignore_index=255,
    reduction='none')`` where ``w = 1`` for every current class but ``w_0 = 0`` for background, averaged over
    *all* ``H*W`` pixels (background and ignore pixels count as 0).  Higher = easier = more replaceable.
  - *class balance* ``B_i = min_{c in L_i, c != 0} n_c`` where ``L_i`` is the set of label values in sample
    ``i`` and ``n_c`` the number of stored samples containing ``c``: a sample whose rarest class is common
    is replaceable.  The ignore value 255 counts as a class (the official loop only skips 0).
  - ``S = 0.3 * I / (mean|I| * mean|B|) + 0.7 * B``; min-max normalised to [0, 1] when not constant;
    ``p = S / sum(S)``.  The sample with the smallest ``S`` therefore gets probability 0.
* **Sampling** (:meth:`ReplayBuffer.sample`): ``n`` distinct filled slots, as mammoth's / the official
  ``Buffer.get_data`` (``np.random.choice(..., replace=False)``); ``n`` is clipped to the filled count.

What is stored per slot: ``images`` uint8 ``(3, H, W)`` (the training crop before normalisation),
``labels`` uint8 ``(H, W)`` (255 = ignore), ``logits`` float32 ``(C_max, h, w)`` stride-16 logits zero-padded
after the ``num_classes`` int16 valid channels, ``importance`` float32, ``seen`` float16 ``(H, W)``
(background-shift detector map), ``task`` int16.  On disk (:meth:`ReplayBuffer.save`) each array is one
``<name>.npy`` file of ``capacity`` rows written with ``numpy.lib.format.open_memmap``, plus ``meta.json``
(format name and version, shapes, dtypes, filled count, reservoir counter, sha256 of each file) written last.

Randomness: the reservoir draws use a ``numpy.random.Generator`` (the official code draws from the global
``np.random``: ``randint(0, N)`` then ``choice(range(m), p=scores)``; the same two draws, in the same
order, are made here from the generator); :meth:`ReplayBuffer.sample` uses a ``torch.Generator``
(``torch.randperm``) so that a resumed run that restores the generator state draws the same batches.

Deviations from the official code (each a choice made here):

* *Per-sample label sets.*  The official ``add_data`` takes ``labels.unique()`` of the **whole batch** for
  every sample of the batch (its own docstring says "unique labels per batch item"); here each sample's own
  label set is used, so the class balance depends only on the stored labels (and survives save/load).
* *Writes go to the drawn slot.*  Official ``DatasetMap.extend`` skips slot 0 (``if index > 0``), so slot 0's
  image/logits/labels/seen stay zero forever, and it zips the accepted slot indices with the *first* items of
  the batch, so after a rejection the wrong sample is written; neither is reproduced.
* *Fixed ``C_max`` logits.*  The official logits memmap is regrown when new classes arrive
  (``update_task`` / ``change_data_size``); here logits are padded to a fixed ``C_max`` and ``num_classes``
  tells the valid channels (the official ``_logits_n_classes``, uint8 there).
* *Degenerate scores* (the official code divides by zero): if ``mean|I| * mean|B| == 0`` (e.g. all
  importances 0) the importance term is dropped; if ``S`` is constant, ``p`` is uniform; a sample with no
  label other than 0 gets ``B_i = N`` (the number of scored samples, the largest possible count; the official
  ``min([])`` raises).
* *Images* are stored as uint8 crops before normalisation; the official stores the normalised, augmented
  float tensor for the logit term and replays the label term by re-loading the image/label **paths** with
  fresh augmentation (``get_buffer_loader``).  Paths are not stored here.
* *Storage*: ``.npy`` files of fixed shape with a checksummed ``meta.json``, saved atomically, instead of
  raw ``np.memmap`` ``.dat`` files under ``<cwd>/mem_maps/all_tasks`` (one per DDP process) that are never
  reloaded.

Official quirks the integrator should know (not handled in this module):

* BACS does not call ``get_data``: from task 1 on it draws replay batches through two shuffled DataLoaders
  (batch = training batch 12, ``drop_last=False``, cycled by ``CombinedLoader('max_size_cycle')``): one over
  the stored images + logits (``RandomAutocontrast(p=0.5)``) for the logit term, one over the stored paths
  for the label term, i.e. epoch permutations of the buffer, two independent streams.  ``replay_minibatch_size``
  (12) is not used by that path.  :meth:`ReplayBuffer.gather` lets a sampler reproduce that.
* The fill pass sets ``train_dataloader.shuffle = False`` after the loader was built, which a torch DataLoader
  ignores, while paths are recorded by position (``img_paths[start:end]``); the recorded paths then need not
  match the stored images (UNVERIFIED how pytorch-lightning 1.3.8 wraps that loader).  The train loader has
  ``drop_last=True``, so the last partial batch is never offered.
* The stored "seen" map is ``get_seen_map_task(..., task_num=-1)``: the pre-sigmoid output ``(B, 1, H, W)``
  of the last task's detector head only, and no loss reads it back.
* Under DDP every process keeps its own buffer filled from its own shard.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from visionx.utils.errors import ConfigError, DataFormatError, UserFileNotFoundError
from visionx.utils.io import _host_tag, _pid_alive, current_umask

FORMAT_NAME = 'visionx.ciss.replay_buffer'
FORMAT_VERSION = 1
META_FILE = 'meta.json'

#: Weights of the importance and class-balance terms (official ``merge_scores``: 0.3 / 0.7).
IMPORTANCE_WEIGHT = 0.3
BALANCE_WEIGHT = 0.7
#: Number of distinct uint8 label values tracked for the class balance.
NUM_LABEL_VALUES = 256

_ARRAY_NAMES = ('images', 'labels', 'logits', 'num_classes', 'importance', 'seen', 'task')
_DTYPES = {
    'images': np.dtype(np.uint8),
    'labels': np.dtype(np.uint8),
    'logits': np.dtype(np.float32),
    'num_classes': np.dtype(np.int16),
    'importance': np.dtype(np.float32),
    'seen': np.dtype(np.float16),
    'task': np.dtype(np.int16),
}
_MMAP_MODES = ('r', 'c', None)
_TMP_TAG = '.vxtmp-'  # a new buffer being written
_OLD_TAG = '.vxold-'  # the replaced buffer, between the two renames
_SIBLING = re.compile(r'^\.(?P<name>.+)\.vx(?P<kind>tmp|old)-(?P<host>[A-Za-z0-9_-]{1,16})-(?P<pid>\d+)-')
_HASH_CHUNK = 1 << 22


# ----------------------------------------------------------------------------------------------------------
# Scoring (pure functions)
# ----------------------------------------------------------------------------------------------------------
def label_presence(labels: np.ndarray | torch.Tensor) -> np.ndarray:
    """Which label values occur in each label map.

    Args:
        labels: ``(N, H, W)`` integer label maps with values in ``[0, 255]``.

    Returns:
        ``(N, 256)`` bool, ``[i, c]`` true iff value ``c`` occurs in ``labels[i]``.
    """
    labels = _to_numpy(labels)
    if labels.ndim != 3:
        raise ValueError(f'labels must be (N, H, W), got shape {labels.shape}')
    labels = _as_uint8_labels(labels, 'labels')
    presence = np.zeros((labels.shape[0], NUM_LABEL_VALUES), dtype=bool)
    for i, lab in enumerate(labels):
        presence[i] = np.bincount(lab.ravel(), minlength=NUM_LABEL_VALUES) > 0
    return presence


def class_balance(presence: np.ndarray) -> np.ndarray:
    """Class-balance score of each sample: the count of its rarest non-background label value.

    ``B_i = min_{c in L_i, c != 0} n_c`` with ``n_c`` = number of samples containing value ``c`` (255
    included, as in the official ``Buffer.add_data``).  A sample without any label other than 0 gets
    ``B_i = N`` (the official ``min([])`` raises).

    Args:
        presence: ``(N, K)`` bool from :func:`label_presence`.

    Returns:
        ``(N,)`` float64.
    """
    presence = np.asarray(presence, dtype=bool)
    if presence.ndim != 2:
        raise ValueError(f'presence must be (N, K), got shape {presence.shape}')
    num = presence.shape[0]
    fg = presence.copy()
    fg[:, 0] = False
    counts = fg.sum(axis=0).astype(np.float64)  # n_c
    balance = np.where(fg, counts[None, :], np.inf).min(axis=1, initial=np.inf)
    balance[~fg.any(axis=1)] = num
    return balance


def replay_scores(presence: np.ndarray, importance: np.ndarray | Sequence[float]) -> np.ndarray:
    """Replacement probabilities of the stored samples (official ``Buffer.merge_scores``).

    ``S = 0.3 * I / (mean|I| * mean|B|) + 0.7 * B`` with ``B`` = :func:`class_balance`; ``S`` is min-max
    normalised when it is not constant and ``p = S / sum(S)`` (the minimum therefore gets ``p = 0``).
    Degenerate cases (choices; the official code divides by zero): ``mean|I| * mean|B| == 0`` drops the
    importance term; a constant ``S`` gives uniform ``p``.

    Args:
        presence: ``(N, K)`` bool label presence of the stored samples (:func:`label_presence`).
        importance: ``(N,)`` importance scores (BACS: minus the per-image mean background-free CE).

    Returns:
        ``(N,)`` float64 probabilities summing to 1.
    """
    importance = np.asarray(importance, dtype=np.float64)
    balance = class_balance(presence)
    if importance.shape != balance.shape:
        raise ValueError(f'importance must have shape {balance.shape}, got {importance.shape}')
    if not np.isfinite(importance).all():
        raise ValueError(f'importance must be finite, got {importance}')
    scale = np.mean(np.abs(importance)) * np.mean(np.abs(balance))
    norm_importance = importance / scale if scale != 0 else np.zeros_like(importance)
    scores = IMPORTANCE_WEIGHT * norm_importance + BALANCE_WEIGHT * balance
    low, high = scores.min(), scores.max()
    if high == low:
        return np.full(scores.shape, 1.0 / scores.size)
    scores = (scores - low) / (high - low)
    return scores / scores.sum()


# ----------------------------------------------------------------------------------------------------------
# Buffer
# ----------------------------------------------------------------------------------------------------------
class ReplayBuffer:
    """Fixed-capacity replay buffer of BACS (DER++) with score-based reservoir replacement.

    See the module docstring for the rule, the stored fields, the on-disk format and the deviations from the
    official code.

    Args:
        capacity: Number of slots (BACS: 300, shared by all tasks).
        image_shape: ``(3, H, W)`` of the stored crops (all samples have the same size).
        logit_shape: ``(C_max, h, w)`` of the stored stride-16 logits (channels past ``num_classes`` are 0).
    """

    def __init__(self, capacity: int = 300, image_shape: Sequence[int] = (3, 512, 512),
                 logit_shape: Sequence[int] = (21, 32, 32)) -> None:
        self.capacity, self.image_shape, self.logit_shape = _check_geometry(capacity, image_shape, logit_shape)
        self._arrays = {name: np.zeros(shape, dtype=_DTYPES[name])
                        for name, shape in _array_shapes(self.capacity, self.image_shape, self.logit_shape).items()}
        self._num_seen = 0
        self._presence: np.ndarray | None = np.zeros((self.capacity, NUM_LABEL_VALUES), dtype=bool)

    # -- state -------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Number of filled slots (slots ``0 .. len-1``)."""
        return min(self._num_seen, self.capacity)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(capacity={self.capacity}, image_shape={self.image_shape}, '
                f'logit_shape={self.logit_shape}, filled={len(self)}, num_seen={self._num_seen})')

    @property
    def num_seen(self) -> int:
        """Samples offered to :meth:`add` so far, over all tasks (the reservoir counter)."""
        return self._num_seen

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        """The stored arrays, ``capacity`` rows each (read-only views; rows past ``len(self)`` are unused)."""
        views = {}
        for name, arr in self._arrays.items():
            view = arr.view()
            view.flags.writeable = False
            views[name] = view
        return views

    @property
    def writable(self) -> bool:
        """Whether :meth:`add` can write (false for a buffer loaded with ``mmap_mode='r'``; see :meth:`copy`)."""
        return all(arr.flags.writeable for arr in self._arrays.values())

    def _label_presence(self) -> np.ndarray:
        if self._presence is None:  # loaded buffer: derive from the stored labels once
            presence = np.zeros((self.capacity, NUM_LABEL_VALUES), dtype=bool)
            if len(self):
                presence[:len(self)] = label_presence(self._arrays['labels'][:len(self)])
            self._presence = presence
        return self._presence

    def scores(self) -> np.ndarray:
        """Current replacement probabilities of the filled slots, ``(len(self),)`` (:func:`replay_scores`)."""
        n = len(self)
        return replay_scores(self._label_presence()[:n], self._arrays['importance'][:n])

    def copy(self) -> 'ReplayBuffer':
        """A writable in-memory copy (e.g. of a buffer loaded read-only, before the next task's fill)."""
        new = ReplayBuffer.__new__(ReplayBuffer)
        new.capacity, new.image_shape, new.logit_shape = self.capacity, self.image_shape, self.logit_shape
        new._arrays = {name: np.array(arr, copy=True) for name, arr in self._arrays.items()}
        new._num_seen = self._num_seen
        new._presence = None if self._presence is None else self._presence.copy()
        return new

    # -- filling -----------------------------------------------------------------------------------------
    def add(self, images: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor,
            logits: np.ndarray | torch.Tensor, num_classes: int | Sequence[int] | np.ndarray | torch.Tensor | None,
            seen: np.ndarray | torch.Tensor, task: int | Sequence[int] | np.ndarray | torch.Tensor, *,
            importance: Sequence[float] | np.ndarray | torch.Tensor,
            generator: np.random.Generator) -> np.ndarray:
        """Offer a batch of ``B`` samples, one after the other, to the reservoir.

        Args:
            images: ``(B, 3, H, W)`` uint8 crops before normalisation.
            labels: ``(B, H, W)`` integer labels in ``[0, 255]`` (255 = ignore).
            logits: ``(B, C, h, w)`` stride-16 logits, ``C <= C_max`` (zero-padded to ``C_max``).
            num_classes: Valid logit channels, an int or ``(B,)``; ``None`` = ``C``.
            seen: ``(B, H, W)`` (or ``(B, 1, H, W)``) background-shift detector map, stored as float16.
            task: Task index of the samples, an int or ``(B,)``.
            importance: ``(B,)`` importance scores (BACS: ``-mean CE`` per image, see the module docstring).
            generator: Source of the reservoir draws; the same generator state gives the same contents.

        Returns:
            ``(B,)`` int64 slot each sample was written to, ``-1`` for a sample the reservoir rejected.
        """
        if not isinstance(generator, np.random.Generator):
            raise TypeError(f'generator must be a numpy.random.Generator, got {type(generator).__name__}')
        if not self.writable:
            raise ValueError('this replay buffer is read-only (loaded with mmap_mode="r"); '
                             'call .copy() for a writable in-memory copy')
        batch = self._check_batch(images, labels, logits, num_classes, seen, task, importance)
        presence = label_presence(batch['labels'])
        all_presence = self._label_presence()
        slots = np.full(len(batch['images']), -1, dtype=np.int64)
        for i in range(len(slots)):
            slot = self._reservoir_slot(generator)
            if slot >= 0:
                self._write(slot, {name: value[i] for name, value in batch.items()})
                all_presence[slot] = presence[i]
                slots[i] = slot
            self._num_seen += 1
        return slots

    def _reservoir_slot(self, generator: np.random.Generator) -> int:
        seen, capacity = self._num_seen, self.capacity
        if seen < capacity:
            return seen
        if int(generator.integers(0, seen)) >= capacity:
            return -1
        return int(generator.choice(capacity, p=self.scores()))

    def _write(self, slot: int, sample: dict[str, Any]) -> None:
        arrays = self._arrays
        arrays['images'][slot] = sample['images']
        arrays['labels'][slot] = sample['labels']
        arrays['logits'][slot] = 0
        arrays['logits'][slot, :sample['logits'].shape[0]] = sample['logits']
        for name in ('num_classes', 'importance', 'seen', 'task'):
            arrays[name][slot] = sample[name]

    def _check_batch(self, images, labels, logits, num_classes, seen, task, importance) -> dict[str, np.ndarray]:
        _, height, width = self.image_shape
        c_max, h, w = self.logit_shape
        images, labels, logits, seen = (_to_numpy(x) for x in (images, labels, logits, seen))
        if images.ndim != 4 or images.shape[1:] != self.image_shape:
            raise ValueError(f'images must be (B, {", ".join(map(str, self.image_shape))}), got {images.shape}')
        if images.dtype != np.uint8:
            raise ValueError(f'images must be uint8 (before normalisation), got {images.dtype}')
        b = images.shape[0]
        if labels.shape != (b, height, width):
            raise ValueError(f'labels must be ({b}, {height}, {width}), got {labels.shape}')
        labels = _as_uint8_labels(labels, 'labels')
        if logits.ndim != 4 or logits.shape[0] != b or logits.shape[2:] != (h, w) or logits.shape[1] > c_max:
            raise ValueError(f'logits must be ({b}, C <= {c_max}, {h}, {w}), got {logits.shape}')
        if seen.ndim == 4 and seen.shape[1] == 1:
            seen = seen[:, 0]
        if seen.shape != (b, height, width):
            raise ValueError(f'seen must be ({b}, {height}, {width}) or ({b}, 1, {height}, {width}), '
                             f'got {seen.shape}')
        num_classes = _per_sample(logits.shape[1] if num_classes is None else num_classes, b, 'num_classes')
        if ((num_classes < 0) | (num_classes > logits.shape[1])).any():
            raise ValueError(f'num_classes must be in [0, {logits.shape[1]}] (the logit channels), got {num_classes}')
        task = _per_sample(task, b, 'task')
        if ((task < 0) | (task > np.iinfo(np.int16).max)).any():
            raise ValueError(f'task must be in [0, 32767], got {task}')
        importance = np.asarray(_to_numpy(importance), dtype=np.float64).reshape(-1)
        if importance.shape != (b,) or not np.isfinite(importance).all():
            raise ValueError(f'importance must be {b} finite values, got {importance}')
        return {'images': images, 'labels': labels, 'logits': logits.astype(np.float32, copy=False),
                'num_classes': num_classes, 'importance': importance.astype(np.float32), 'seen': seen,
                'task': task}

    # -- drawing -----------------------------------------------------------------------------------------
    def sample(self, n: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Draw ``min(n, len(self))`` distinct filled slots uniformly (official ``Buffer.get_data``).

        The slots are ``torch.randperm(len(self), generator=generator)[:n]``: restoring the generator state
        (``generator.get_state()`` / ``set_state``) reproduces the draw.

        Returns:
            See :meth:`gather`.
        """
        if n <= 0:
            raise ValueError(f'n must be positive, got {n}')
        if len(self) == 0:
            raise ValueError('cannot sample from an empty replay buffer')
        index = torch.randperm(len(self), generator=generator)[:n]
        return self.gather(index)

    def gather(self, index: Sequence[int] | np.ndarray | torch.Tensor) -> dict[str, torch.Tensor]:
        """The samples in the given filled slots, as tensors.

        Returns:
            ``images`` uint8 ``(n, 3, H, W)``, ``labels`` int64 ``(n, H, W)``, ``logits`` float32
            ``(n, C_max, h, w)``, ``num_classes`` int64 ``(n,)``, ``seen`` float32 ``(n, H, W)``, ``task``
            int64 ``(n,)``, ``importance`` float32 ``(n,)``, ``index`` int64 ``(n,)`` (the slots).
        """
        index = np.asarray(_to_numpy(index), dtype=np.int64).reshape(-1)
        if index.size and (index.min() < 0 or index.max() >= len(self)):
            raise IndexError(f'slots must be in [0, {len(self) - 1}], got {index}')
        a = self._arrays

        def take(name: str) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a[name][index]))

        return {
            'images': take('images'),
            'labels': take('labels').long(),
            'logits': take('logits'),
            'num_classes': take('num_classes').long(),
            'seen': take('seen').float(),
            'task': take('task').long(),
            'importance': take('importance'),
            'index': torch.from_numpy(index.copy()),
        }

    # -- persistence -------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the buffer to the folder ``path`` atomically.

        The arrays go to a hidden temporary sibling folder (``open_memmap``, flush, fsync), ``meta.json`` is
        written last, then the folder is renamed into place: an existing buffer at ``path`` is renamed aside,
        the new one renamed in, the old one deleted.  An interrupted save leaves ``path`` either the old
        buffer or the new one; only a kill between the two renames leaves ``path`` absent, with both complete
        buffers beside it (:meth:`load` names them).  Temporaries left by killed writers on this host are
        deleted at the end of the next successful save into the same folder.

        Raises:
            ConfigError: ``path`` exists and is not a replay-buffer folder (it is never replaced then).
        """
        path = Path(path)
        _check_replaceable(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tag = f'{_host_tag()}-{os.getpid()}-'
        tmp = Path(tempfile.mkdtemp(prefix=f'.{path.name}{_TMP_TAG}{tag}', dir=path.parent))
        aside = None
        try:
            os.chmod(tmp, 0o777 & ~current_umask())
            entries = {name: _write_array(tmp / f'{name}.npy', arr) for name, arr in self._arrays.items()}
            meta = {
                'format': FORMAT_NAME,
                'version': FORMAT_VERSION,
                'capacity': self.capacity,
                'image_shape': list(self.image_shape),
                'logit_shape': list(self.logit_shape),
                'count': len(self),
                'num_seen': self._num_seen,
                'arrays': entries,
            }
            _write_durable(tmp / META_FILE, (json.dumps(meta, indent=2) + '\n').encode())
            _fsync_dir(tmp)
            if path.exists():
                aside = Path(tempfile.mkdtemp(prefix=f'.{path.name}{_OLD_TAG}{tag}', dir=path.parent))
                aside.rmdir()  # only the unique name is wanted
                _move(path, aside)
            try:
                _move(tmp, path)
            except BaseException:
                if aside is not None:  # put the old buffer back
                    _move(aside, path)
                    aside = None
                raise
            _fsync_dir(path.parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
        _remove_stale_siblings(path)

    @classmethod
    def load(cls, path: str | os.PathLike, mmap_mode: str | None = 'r') -> 'ReplayBuffer':
        """Open a buffer written by :meth:`save`, after checking every file.

        ``meta.json`` must have the expected format name, version, shapes and dtypes; each ``.npy`` file must
        exist, have the header ``meta.json`` announces, the matching size and sha256.

        Args:
            path: The buffer folder.
            mmap_mode: ``'r'`` (read-only memory maps; :meth:`copy` makes a writable copy), ``'c'``
                (copy-on-write memory maps, writable, the files never change) or ``None`` (read into memory).

        Raises:
            UserFileNotFoundError: The folder, ``meta.json`` or an array file is missing.
            DataFormatError: A file is unreadable, inconsistent or corrupted (the message names it).
        """
        if mmap_mode not in _MMAP_MODES:
            raise ValueError(f'mmap_mode must be one of {_MMAP_MODES}, got {mmap_mode!r}')
        path = Path(path)
        if not path.exists():
            raise UserFileNotFoundError(f'replay buffer folder {path} does not exist{_interrupted_hint(path)}')
        if not path.is_dir():
            raise DataFormatError(f'replay buffer {path} is not a folder')
        meta_path = path / META_FILE
        if not meta_path.is_file():
            raise UserFileNotFoundError(f'replay buffer metadata {meta_path} does not exist')
        meta = _read_meta(meta_path)
        buf = cls.__new__(cls)
        buf.capacity, buf.image_shape, buf.logit_shape = meta['capacity'], meta['image_shape'], meta['logit_shape']
        buf._num_seen = meta['num_seen']
        buf._presence = None
        buf._arrays = {}
        for name in _ARRAY_NAMES:
            entry = meta['arrays'][name]
            file = path / entry['file']
            _verify_array_file(file, tuple(entry['shape']), np.dtype(entry['dtype']), entry['sha256'])
            if mmap_mode is None:
                buf._arrays[name] = np.load(file, allow_pickle=False)
            else:
                buf._arrays[name] = np.load(file, mmap_mode=mmap_mode, allow_pickle=False)
        return buf


# ----------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------
def _to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _as_uint8_labels(labels: np.ndarray, what: str) -> np.ndarray:
    if labels.dtype == np.uint8:
        return labels
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f'{what} must be integers, got {labels.dtype}')
    if labels.size and (labels.min() < 0 or labels.max() > 255):
        raise ValueError(f'{what} must lie in [0, 255], got [{labels.min()}, {labels.max()}]')
    return labels.astype(np.uint8)


def _per_sample(value: Any, b: int, what: str) -> np.ndarray:
    arr = np.asarray(_to_numpy(value)).reshape(-1)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f'{what} must be integers, got {arr.dtype}')
    if arr.size == 1:
        arr = np.repeat(arr, b)
    elif arr.size != b:
        raise ValueError(f'{what} must be an int or {b} ints, got {value}')
    return arr.astype(np.int64)


def _check_geometry(capacity: Any, image_shape: Any, logit_shape: Any) -> tuple[int, tuple, tuple]:
    if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)) or capacity <= 0:
        raise ValueError(f'capacity must be a positive int, got {capacity!r}')
    image_shape = tuple(int(s) for s in image_shape)
    logit_shape = tuple(int(s) for s in logit_shape)
    if len(image_shape) != 3 or image_shape[0] != 3 or min(image_shape) <= 0:
        raise ValueError(f'image_shape must be (3, H, W), got {image_shape}')
    if len(logit_shape) != 3 or min(logit_shape) <= 0:
        raise ValueError(f'logit_shape must be (C_max, h, w), got {logit_shape}')
    return int(capacity), image_shape, logit_shape


def _array_shapes(capacity: int, image_shape: tuple, logit_shape: tuple) -> dict[str, tuple]:
    height, width = image_shape[1:]
    return {
        'images': (capacity, *image_shape),
        'labels': (capacity, height, width),
        'logits': (capacity, *logit_shape),
        'num_classes': (capacity,),
        'importance': (capacity,),
        'seen': (capacity, height, width),
        'task': (capacity,),
    }


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, 'rb') as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_file(file: Path) -> None:
    fd = os.open(file, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not possible on every OS / file system
        _fsync_file(folder)


def _write_array(file: Path, arr: np.ndarray) -> dict[str, Any]:
    """Write ``arr`` to the ``.npy`` file through a memory map, make it durable, return its meta entry."""
    mm = np.lib.format.open_memmap(file, mode='w+', dtype=arr.dtype, shape=arr.shape)
    mm[...] = arr
    mm.flush()
    del mm
    _fsync_file(file)
    return {'file': file.name, 'shape': list(arr.shape), 'dtype': arr.dtype.str, 'sha256': _sha256(file)}


def _write_durable(file: Path, data: bytes) -> None:
    with open(file, 'wb') as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _move(src: Path, dst: Path) -> None:
    os.rename(src, dst)


def _check_replaceable(path: Path) -> None:
    """Refuse to replace anything but an empty folder or a replay-buffer folder."""
    if not path.exists():
        return
    if not path.is_dir():
        raise ConfigError(f'cannot save a replay buffer to {path}: it exists and is not a folder')
    if not any(path.iterdir()):
        return
    meta = path / META_FILE
    try:
        is_buffer = json.loads(meta.read_text()).get('format') == FORMAT_NAME
    except (OSError, ValueError, AttributeError):
        is_buffer = False
    if not is_buffer:
        raise ConfigError(f'cannot save a replay buffer to {path}: the folder exists and is not a replay buffer '
                          f'(no {META_FILE} with format {FORMAT_NAME!r}); it is left untouched')


def _siblings(path: Path) -> list[tuple[Path, re.Match]]:
    found = []
    with contextlib.suppress(OSError):
        for entry in path.parent.iterdir():
            m = _SIBLING.match(entry.name)
            if m is not None and m['name'] == path.name and entry.is_dir():
                found.append((entry, m))
    return found


def _remove_stale_siblings(path: Path) -> None:
    """Delete the temporary / set-aside folders of killed saves (this host, writer process gone)."""
    host = _host_tag()
    for entry, m in _siblings(path):
        pid = int(m['pid'])
        if m['host'] == host and pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(entry, ignore_errors=True)


def _interrupted_hint(path: Path) -> str:
    complete = sorted(str(entry) for entry, _ in _siblings(path) if (entry / META_FILE).is_file())
    if not complete:
        return ''
    return ('; a save into it was interrupted, complete buffers are left at ' + ', '.join(complete)
            + ' (".vxold-" = the previous buffer, ".vxtmp-" = the new one): rename one to ' + str(path))


def _read_meta(meta_path: Path) -> dict[str, Any]:
    def fail(problem: str) -> DataFormatError:
        return DataFormatError(f'replay buffer metadata {meta_path}: {problem}')

    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f'not readable as JSON ({exc})') from None
    if not isinstance(meta, dict) or meta.get('format') != FORMAT_NAME:
        raise fail(f'not a replay buffer (format {meta.get("format") if isinstance(meta, dict) else None!r}, '
                   f'expected {FORMAT_NAME!r})')
    if meta.get('version') != FORMAT_VERSION:
        raise fail(f'format version {meta.get("version")!r}, this reader handles version {FORMAT_VERSION}')
    try:
        capacity, image_shape, logit_shape = _check_geometry(meta['capacity'], meta['image_shape'],
                                                             meta['logit_shape'])
    except (KeyError, TypeError, ValueError) as exc:
        raise fail(f'bad capacity / image_shape / logit_shape ({exc})') from None
    count, num_seen = meta.get('count'), meta.get('num_seen')
    if not isinstance(num_seen, int) or isinstance(num_seen, bool) or num_seen < 0:
        raise fail(f'num_seen must be a non-negative int, got {num_seen!r}')
    if count != min(num_seen, capacity):
        raise fail(f'count {count!r} does not match min(num_seen={num_seen}, capacity={capacity})')
    arrays = meta.get('arrays')
    if not isinstance(arrays, dict) or set(arrays) != set(_ARRAY_NAMES):
        raise fail(f'arrays must list exactly {sorted(_ARRAY_NAMES)}, got '
                   f'{sorted(arrays) if isinstance(arrays, dict) else arrays!r}')
    for name, shape in _array_shapes(capacity, image_shape, logit_shape).items():
        entry = arrays[name]
        if not isinstance(entry, dict) or set(entry) != {'file', 'shape', 'dtype', 'sha256'}:
            raise fail(f'array entry {name!r} must have file, shape, dtype and sha256, got {entry!r}')
        if entry['file'] != f'{name}.npy':
            raise fail(f'array {name!r} must be stored in {name}.npy, got {entry["file"]!r}')
        if entry['shape'] != list(shape):
            raise fail(f'array {name!r} has shape {entry["shape"]}, expected {list(shape)} from capacity '
                       f'{capacity}, image_shape {list(image_shape)}, logit_shape {list(logit_shape)}')
        try:
            dtype = np.dtype(entry['dtype'])
        except TypeError:
            dtype = None
        if dtype != _DTYPES[name]:
            raise fail(f'array {name!r} has dtype {entry["dtype"]!r}, expected {_DTYPES[name].str!r}')
        if not isinstance(entry['sha256'], str) or not re.fullmatch(r'[0-9a-f]{64}', entry['sha256']):
            raise fail(f'array {name!r} has no valid sha256')
    meta['capacity'], meta['image_shape'], meta['logit_shape'] = capacity, image_shape, logit_shape
    return meta


def _verify_array_file(file: Path, shape: tuple, dtype: np.dtype, sha256: str) -> None:
    def fail(problem: str) -> DataFormatError:
        return DataFormatError(f'replay buffer array {file}: {problem}')

    if not file.is_file():
        raise UserFileNotFoundError(f'replay buffer array {file} does not exist')
    try:
        with open(file, 'rb') as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f'unsupported .npy version {version}')
            data_offset = fh.tell()
    except (OSError, ValueError, EOFError) as exc:
        raise fail(f'invalid .npy header ({exc})') from None
    file_shape, fortran_order, file_dtype = header
    if tuple(file_shape) != shape or file_dtype != dtype or fortran_order:
        raise fail(f'header says shape {tuple(file_shape)}, dtype {file_dtype.str}'
                   f'{", Fortran order" if fortran_order else ""}; meta.json says shape {shape}, dtype {dtype.str}')
    expected_size = data_offset + int(np.prod(shape)) * dtype.itemsize
    size = file.stat().st_size
    if size != expected_size:
        raise fail(f'size {size} bytes, expected {expected_size} (truncated or padded)')
    if _sha256(file) != sha256:
        raise fail('sha256 differs from meta.json (the file changed or was corrupted after it was saved)')
