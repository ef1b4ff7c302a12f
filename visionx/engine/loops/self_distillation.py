"""``SelfDistillationLoop``: TopoMortar's self-distillation framework as an MMEngine train loop.

Reference: J. M. Valverde et al., "TopoMortar", BMVC 2025 (arXiv 2503.03365), study cases SC8/SC9;
METHODS.md part A §3.4 (official ``lib/core.py``, ``train.py``).

Training runs ``rounds`` rounds of ``iters_per_round`` iterations (TopoMortar: 3 x 4000).  After every round
but the last, the loop

1. predicts the *training* images with the test-time pipeline (no random transforms) and saves the softmax
   probabilities, one float32 (C, H, W) ``.npy`` per image, to ``<work_dir>/<soft_label_root>/round_<r>/``
   (atomic writes, plus a ``manifest.json``);
2. calls ``reset_parameters()`` on every module that has one;
3. re-creates the optimizer wrapper from its config (fresh momentum buffers and AMP loss scale, initial lr)
   and the parameter schedulers (poly over the round);
4. rebuilds the training dataloader with ``LoadSoftLabels(soft_label_dir=<that folder>)``, so the next round
   trains on the soft labels.  Validation keeps its own (hard) labels.
"""
from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any, Sequence

import torch
from mmengine.dist import all_gather_object, barrier, broadcast, get_dist_info
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop

from visionx.registry import LOOPS
from visionx.utils import atomic_write_json
from visionx.utils.errors import DataFormatError
from visionx.utils.soft_labels import save_soft_label, soft_label_path
from ..hooks.rng_state import apply_pending_rng_states
from .iter_based import InfiniteDataloaderIterator

ROUND_KEY = 'self_distillation/round'
ROUND_BEGIN_KEY = 'self_distillation/round_begin'
SOFT_LOADER_TYPES = ('LoadSoftLabels', 'visionx.LoadSoftLabels')
MANIFEST = 'manifest.json'


def _to_dict(cfg: Any) -> Any:
    """Deep copy of a (Config)dict/list config as plain Python containers."""
    if hasattr(cfg, 'to_dict'):
        return copy.deepcopy(cfg.to_dict())
    return copy.deepcopy(cfg)


def _innermost_dataset(dataset_cfg: dict, where: str) -> dict:
    """The dataset config holding the pipeline, through ``RepeatDataset``-style ``dataset=`` wrappers."""
    ds = dataset_cfg
    while 'pipeline' not in ds and isinstance(ds.get('dataset'), dict):
        ds = ds['dataset']
    if 'pipeline' not in ds:
        raise ValueError(f'{where}: self-distillation needs one dataset with a "pipeline" (ConcatDataset of '
                         f'several datasets is not supported), got {dataset_cfg.get("type")!r}')
    return ds


@LOOPS.register_module()
class SelfDistillationLoop(IterBasedTrainLoop):
    """Self-distillation (TopoMortar SC8/SC9): rounds of training, each on the previous round's soft labels.

    Iterations are counted globally (``runner.iter`` runs from 0 to ``rounds * iters_per_round``), so
    ``val_interval``, checkpoint intervals and logs work as with ``IterBasedTrainLoop``; the round ends after
    its last iteration has been validated and checkpointed, then the soft labels are predicted and the model,
    optimizer and schedulers reset (see the module docstring).

    Config requirements: the training pipeline contains ``dict(type='LoadSoftLabels')`` (a no-op in round 1);
    ``param_scheduler`` describes *one* round (e.g. ``PolyLR`` with ``end=iters_per_round``); the model
    declares ``supports_soft_labels`` (``DeepSupervisionSegmentor``, ``SoftLabelEncoderDecoder``) and has at
    least two output channels (softmax).

    Resume: the round and the iteration at which it began are kept in the ``MessageHub`` (saved in every
    checkpoint); resuming inside round r >= 2 rebuilds the dataloader on ``round_<r>`` (already on disk, checked
    against its manifest) and continues the round's optimizer and scheduler state from the checkpoint.  A
    checkpoint taken at a round's last iteration resumes by predicting the soft labels (again) and resetting.

    Multi-process (DDP): every rank predicts its own shard of the training images
    (``DefaultSampler(shuffle=False, round_up=False)``: image i on rank i mod world size) and writes only
    those files; a barrier follows and rank 0 writes the manifest (which rank wrote which file).  The work
    dir must be visible to all ranks (one machine, or a shared file system).  The reset is seeded identically
    on every rank and then broadcast from rank 0, so replicas stay identical.

    Args:
        runner: the MMEngine runner.
        dataloader: the training dataloader *config* (rebuilt for every round).
        rounds: number of rounds (TopoMortar: 3).
        iters_per_round: iterations per round (TopoMortar: 4000).
        val_begin: first iteration that may validate.
        val_interval: validate every this many (global) iterations (TopoMortar: 1000).
        dynamic_intervals: as in ``IterBasedTrainLoop``.
        max_iters: optional; must equal ``rounds * iters_per_round`` when given.
        soft_label_root: folder of the soft labels, relative to the work dir unless absolute.
        predict_pipeline: test-time pipeline used to predict the training images; defaults to the
            ``val_dataloader`` (else ``test_dataloader``) dataset pipeline of the config.
        predict_batch_size: batch size of that prediction (1: images may differ in size).
        predict_num_workers: dataloader workers of that prediction.
        official_scheduler: reproduce the official code's [inferred] quirk: its ``LambdaLR`` stays bound to the
            round-1 optimizer, so rounds 2+ run at the constant initial lr (0.01).  Default ``False``: the
            schedulers are rebuilt for the new optimizer and the poly schedule restarts every round.
        official_round_labels: reproduce the official code's handling of the labels: it points the training
            labels to the soft labels once, after round 1, so every later round trains on the round-1
            predictions (those of later rounds are written but unused).  Default ``False``: round r trains on
            the predictions of round r - 1, as the method is described.
        reset_seed: seed of the parameter reset (``seed + round``); defaults to the runner's seed.  The reset
            runs in a forked RNG, so it neither depends on nor disturbs the training random streams (a
            resumed run resets exactly like an uninterrupted one).
    """

    def __init__(self, runner, dataloader: dict, rounds: int = 3, iters_per_round: int = 4000,
                 val_begin: int = 1, val_interval: int = 1000,
                 dynamic_intervals: Sequence[tuple[int, int]] | None = None, max_iters: int | None = None,
                 soft_label_root: str = 'soft_labels', predict_pipeline: list[dict] | None = None,
                 predict_batch_size: int = 1, predict_num_workers: int = 0, official_scheduler: bool = False,
                 reset_seed: int | None = None, official_round_labels: bool = False) -> None:
        if not isinstance(rounds, int) or rounds < 1:
            raise ValueError(f'rounds must be a positive integer, got {rounds!r}')
        if not isinstance(iters_per_round, int) or iters_per_round < 1:
            raise ValueError(f'iters_per_round must be a positive integer, got {iters_per_round!r}')
        if max_iters is not None and max_iters != rounds * iters_per_round:
            raise ValueError(f'max_iters={max_iters} contradicts rounds * iters_per_round = {rounds} * '
                             f'{iters_per_round}; drop max_iters from train_cfg (use _delete_=True)')
        if not isinstance(dataloader, dict):
            raise TypeError('SelfDistillationLoop rebuilds the training dataloader every round and needs its '
                            f'config (a dict), got {type(dataloader).__name__}')
        self.rounds, self.iters_per_round = rounds, iters_per_round
        self.soft_label_root = soft_label_root
        self.predict_batch_size, self.predict_num_workers = predict_batch_size, predict_num_workers
        self.official_scheduler = official_scheduler
        self.official_round_labels = official_round_labels
        self.reset_seed = reset_seed
        self._train_loader_cfg = _to_dict(dataloader)
        self._find_soft_loader(self._train_loader_cfg)  # fail before round 1 if it is missing
        self._optim_cfg = self._config_of(runner, 'optim_wrapper', runner.optim_wrapper)
        self._sched_cfg = self._config_of(runner, 'param_scheduler', runner.param_schedulers)
        self._predict_pipeline = _to_dict(predict_pipeline) if predict_pipeline else self._default_pipeline(runner)
        self._check_model(runner.model)
        super().__init__(runner, dataloader, max_iters=rounds * iters_per_round, val_begin=val_begin,
                         val_interval=val_interval, dynamic_intervals=dynamic_intervals)
        self.round, self.round_begin = 1, 0

    # configuration ------------------------------------------------------------------------------------
    @staticmethod
    def _config_of(runner, key: str, current: Any) -> Any:
        """The config of ``key`` as given to the runner (before the runner replaced it by built objects)."""
        if current is None:
            return None
        if isinstance(current, dict) or (isinstance(current, list) and all(isinstance(c, dict) for c in current)):
            return _to_dict(current)
        cfg = runner.cfg.get(key) if runner.cfg is not None else None
        if cfg is None:
            raise ValueError(f'SelfDistillationLoop re-creates {key!r} every round but cannot find its config')
        return _to_dict(cfg)

    @staticmethod
    def _default_pipeline(runner) -> list[dict]:
        for key in ('val_dataloader', 'test_dataloader'):
            loader = runner.cfg.get(key) if runner.cfg is not None else None
            if loader and isinstance(loader.get('dataset'), dict):
                return _to_dict(_innermost_dataset(loader['dataset'], key)['pipeline'])
        raise ValueError('SelfDistillationLoop needs a test-time pipeline to predict the training images: '
                         'set train_cfg.predict_pipeline or give the config a val_dataloader')

    @staticmethod
    def _find_soft_loader(loader_cfg: dict) -> dict:
        ds = _innermost_dataset(loader_cfg.get('dataset', {}), 'train_dataloader')
        for t in ds['pipeline']:
            if isinstance(t, dict) and t.get('type') in SOFT_LOADER_TYPES:
                return t
        raise ValueError('SelfDistillationLoop: the training pipeline has no LoadSoftLabels step; add '
                         "dict(type='LoadSoftLabels') right after LoadAnnotations (it does nothing in round 1)")

    @staticmethod
    def _check_model(model) -> None:
        model = model.module if is_model_wrapper(model) else model
        name = type(model).__name__
        if not getattr(model, 'supports_soft_labels', False):
            raise ValueError(f'{name} does not train on soft labels: self-distillation needs a segmentor with '
                             'supports_soft_labels (DeepSupervisionSegmentor, SoftLabelEncoderDecoder)')
        for part in ('network', 'decode_head'):
            channels = getattr(getattr(model, part, None), 'out_channels', None)
            if channels is not None and channels < 2:
                raise ValueError(f'{name}: self-distillation stores softmax probabilities and needs >= 2 output '
                                 f'channels, got {part}.out_channels={channels} (one-channel sigmoid or '
                                 'distance-regression models such as TOPO are not supported)')

    # round bookkeeping ---------------------------------------------------------------------------------
    @property
    def schedule_window(self) -> tuple[int, int]:
        """(first iteration, length) of the current round; schedule hooks measure progress within it."""
        return self.round_begin, self.iters_per_round

    def soft_label_dir(self, round_idx: int) -> Path:
        """Folder of the soft labels that round ``round_idx`` (>= 2) trains on."""
        root = Path(self.soft_label_root)
        if not root.is_absolute():
            root = Path(self.runner.work_dir) / root
        return root / f'round_{round_idx}'

    def _publish_round(self) -> None:
        hub = self.runner.message_hub
        hub.update_info(ROUND_KEY, self.round)
        hub.update_info(ROUND_BEGIN_KEY, self.round_begin)

    def _restore_round(self) -> None:
        """Read the round state after a (possible) resume; in round r >= 2 switch to its soft labels."""
        hub = self.runner.message_hub
        stored = hub.get_info(ROUND_KEY) if self._iter > 0 else None  # iteration 0: a fresh run
        if stored is None:
            if self._iter > self.iters_per_round:
                raise ValueError(f'resumed at iteration {self._iter} (after round 1) from a checkpoint without '
                                 'self-distillation state: it was not written by SelfDistillationLoop')
            self.round, self.round_begin = 1, 0
        else:
            self.round = int(stored)
            self.round_begin = int(hub.get_info(ROUND_BEGIN_KEY, (self.round - 1) * self.iters_per_round))
        if not 1 <= self.round <= self.rounds or not (
                self.round_begin <= self._iter <= self.round_begin + self.iters_per_round):
            raise ValueError(f'inconsistent self-distillation state: round {self.round} (begun at iteration '
                             f'{self.round_begin}) at iteration {self._iter}, with rounds={self.rounds} and '
                             f'iters_per_round={self.iters_per_round}')
        self._publish_round()
        if self.round == 1:
            return
        self._check_manifest(self._labels_round(self.round))
        self._use_round_dataloader(self.round)
        if self.official_scheduler:
            self.runner.param_schedulers = self._official_schedulers()
        self.runner.logger.info(f'self-distillation: resuming round {self.round}/{self.rounds} at iteration '
                                f'{self._iter} on the soft labels in '
                                f'{self.soft_label_dir(self._labels_round(self.round))}')

    # the loop ------------------------------------------------------------------------------------------
    def run(self) -> torch.nn.Module:
        """Train all rounds (see the class docstring)."""
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        self._restore_round()
        done_in_round = self._iter - self.round_begin
        round_over = done_in_round == self.iters_per_round and self.round < self.rounds
        finished = self._iter >= self._max_iters
        if done_in_round > 0 and not round_over and not finished:  # a new round rebuilds its loader anyway
            print_log(f'Advance dataloader {done_in_round} steps to skip data that has already been trained '
                      f'in round {self.round}', logger='current', level=logging.WARNING)
            for _ in range(done_in_round):
                next(self.dataloader_iterator)
        apply_pending_rng_states(self.runner)  # restore the generators before the first batch is drawn
        while self._iter < self._max_iters and not self.stop_training:
            if self._iter >= self.round_begin + self.iters_per_round:
                self._next_round()
            self.runner.model.train()
            data_batch = next(self.dataloader_iterator)
            self.run_iter(data_batch)
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0 or self._iter == self._max_iters)):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model

    def _next_round(self) -> None:
        new_round = self.round + 1
        logger = self.runner.logger
        logger.info(f'self-distillation: round {self.round}/{self.rounds} finished at iteration {self._iter}; '
                    f'predicting the soft labels of round {new_round}')
        self.predict_soft_labels(self.soft_label_dir(new_round), new_round)
        self.reset_parameters(new_round)
        self._reset_optimizer()
        self.round, self.round_begin = new_round, self._iter
        self._publish_round()
        self._use_round_dataloader(new_round)
        lr = self.runner.optim_wrapper.get_lr()
        lr = lr.get('lr', lr) if isinstance(lr, dict) else lr
        schedule = 'constant lr (official_scheduler)' if self.official_scheduler else 'schedule restarted'
        logger.info(f'self-distillation: round {new_round}/{self.rounds} starts at iteration {self._iter} '
                    f'(parameters reset, new optimizer, lr {lr}, {schedule})')

    # the four steps of a round change --------------------------------------------------------------------
    def _predict_loader(self):
        ds = copy.deepcopy(_innermost_dataset(self._train_loader_cfg['dataset'], 'train_dataloader'))
        ds['pipeline'] = copy.deepcopy(self._predict_pipeline)
        cfg = dict(batch_size=self.predict_batch_size, num_workers=self.predict_num_workers,
                   persistent_workers=False, dataset=ds,
                   sampler=dict(type='DefaultSampler', shuffle=False, round_up=False))
        return self.runner.build_dataloader(cfg, seed=self.runner.seed)

    @torch.no_grad()
    def predict_soft_labels(self, out_dir: Path, round_idx: int) -> None:
        """Predict this rank's shard of the training images and save their softmax as soft labels.

        Args:
            out_dir: destination folder (``<image stem>.npy``, float32 (C, H, W)).
            round_idx: the round that will train on them (recorded in the manifest).
        """
        runner = self.runner
        rank, world_size = get_dist_info()
        loader = self._predict_loader()
        dataset = loader.dataset
        stems = [Path(dataset.get_data_info(i)['img_path']).stem for i in range(len(dataset))]
        duplicates = sorted({s for s in stems if stems.count(s) > 1})
        if duplicates:
            raise ValueError(f'training images share the file stems {duplicates[:5]}: their soft labels '
                             f'({out_dir}/<stem>.npy) would overwrite each other')
        model = runner.model
        model.eval()
        written: list[str] = []
        total = len(loader)
        for i, batch in enumerate(loader):
            for sample in model.test_step(batch):
                logits = sample.seg_logits.data
                if logits.shape[0] < 2:
                    raise ValueError(f'self-distillation needs softmax logits with >= 2 channels, got '
                                     f'{tuple(logits.shape)} for {sample.img_path}')
                probs = torch.softmax(logits.float(), dim=0).cpu().numpy()
                path = soft_label_path(out_dir, sample.img_path)
                save_soft_label(path, probs)
                written.append(path.name)
            if (i + 1) % 50 == 0 or i + 1 == total:
                runner.logger.info(f'self-distillation: predicted {i + 1}/{total} batches (rank {rank}) '
                                   f'-> {out_dir}')
        model.train()
        per_rank = all_gather_object(written) if world_size > 1 else [written]
        if rank == 0:
            files = {name: r for r, names in enumerate(per_rank) for name in names}
            atomic_write_json(out_dir / MANIFEST, dict(
                round=round_idx, iteration=self._iter, world_size=world_size, num_files=len(files),
                files=files))
        barrier()

    def _check_manifest(self, round_idx: int) -> None:
        out_dir = self.soft_label_dir(round_idx)
        manifest = out_dir / MANIFEST
        if not manifest.is_file():
            raise FileNotFoundError(f'{manifest} not found: the soft labels of self-distillation round '
                                    f'{round_idx} are incomplete; resume from the checkpoint of the last '
                                    f'iteration of round {round_idx - 1} to predict them again')
        try:
            listed = json.loads(manifest.read_text())['files']
        except (ValueError, KeyError, TypeError) as exc:
            raise DataFormatError(f'{manifest}: not a soft-label manifest ({type(exc).__name__}: {exc}); resume '
                                  f'from the last checkpoint of round {round_idx - 1} to predict the labels '
                                  'again') from None
        missing = [n for n in listed if not (out_dir / n).is_file()]
        if missing:
            raise FileNotFoundError(f'{out_dir}: {len(missing)} soft labels listed in {MANIFEST} are missing, '
                                    f'e.g. {missing[:3]}')

    def reset_parameters(self, round_idx: int) -> int:
        """Call ``reset_parameters()`` on every module that has it (TopoMortar's reset between rounds).

        The reset is seeded with ``reset_seed + round_idx`` inside a forked RNG and broadcast from rank 0.
        Note that ``reset_parameters`` restores PyTorch's default initialisation (e.g. Kaiming-uniform
        convolutions), which for MONAI's DynUNet differs from its construction-time Kaiming-normal init; this
        is what the official code does.

        Returns:
            the number of modules reset.
        """
        model = self.runner.model.module if is_model_wrapper(self.runner.model) else self.runner.model
        seed = self.reset_seed if self.reset_seed is not None else self.runner.seed
        devices = [torch.cuda.current_device()] if torch.cuda.is_available() and torch.cuda.is_initialized() \
            else []
        count = 0
        with torch.random.fork_rng(devices=devices):
            if seed is not None:
                torch.manual_seed(int(seed) + round_idx)
            for module in model.modules():
                if callable(getattr(module, 'reset_parameters', None)):
                    module.reset_parameters()
                    count += 1
        if get_dist_info()[1] > 1:
            for tensor in [*model.parameters(), *model.buffers()]:
                broadcast(tensor.data, src=0)
        self.runner.logger.info(f'self-distillation: reset the parameters of {count} modules')
        return count

    def _reset_optimizer(self) -> None:
        """Re-create the optimizer wrapper and the parameter schedulers from their configs."""
        runner = self.runner
        runner.param_schedulers = None  # Runner.scale_lr refuses to run once schedulers are built
        runner.optim_wrapper = runner.build_optim_wrapper(copy.deepcopy(self._optim_cfg))
        runner.scale_lr(runner.optim_wrapper, runner.auto_scale_lr)
        if self.official_scheduler:
            runner.param_schedulers = self._official_schedulers()
        elif self._sched_cfg is not None:
            runner.param_schedulers = runner.build_param_scheduler(copy.deepcopy(self._sched_cfg))
        runner.optim_wrapper.initialize_count_status(runner.model, self._iter, self._max_iters)

    def _official_schedulers(self):
        """No scheduler acts on the new optimizer (the official LambdaLR still steps the round-1 one)."""
        return None if self._sched_cfg is None else []

    def _labels_round(self, round_idx: int) -> int:
        """Which round's soft-label folder round ``round_idx`` trains on (see ``official_round_labels``)."""
        return min(round_idx, 2) if self.official_round_labels else round_idx

    def _use_round_dataloader(self, round_idx: int) -> None:
        """Replace the training dataloader by one that loads the soft labels round ``round_idx`` trains on."""
        cfg = copy.deepcopy(self._train_loader_cfg)
        self._find_soft_loader(cfg)['soft_label_dir'] = str(self.soft_label_dir(self._labels_round(round_idx)))
        runner = self.runner
        seed = None if runner.seed is None else runner.seed + round_idx - 1
        diff_rank_seed = runner._randomness_cfg.get('diff_rank_seed', False)
        self.dataloader_iterator = None  # lets the previous loader's workers shut down
        self.dataloader = runner.build_dataloader(cfg, seed=seed, diff_rank_seed=diff_rank_seed)
        self.dataloader_iterator = InfiniteDataloaderIterator(self.dataloader)
