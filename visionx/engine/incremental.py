"""``IncrementalRunner``: one ``tools/train.py`` call trains a class-incremental task from step 0 to step T.

Reference: METHODS.md part B §6 (protocol) and §7 (previous model, surgery before the optimizer).

The config is an ordinary step-0 config (it builds and trains as such) plus ``runner_type =
'IncrementalRunner'`` and a ``ciss`` block::

    ciss = dict(
        start_step=0,            # first step to train
        start_checkpoint=None,   # step-(start_step - 1) checkpoint, when start_step >= 1
        end_step=None,           # last step to train (default: the task's last)
        first_step=dict(),       # dotted-key overrides for step 0, e.g. {'train_cfg.max_iters': 30000}
        later_steps=dict(),      # dotted-key overrides for steps >= 1 (learning rates, schedule, losses)
    )

``tools/test.py CONFIG work_dir/step_<t>/CKPT`` evaluates one step's checkpoint with that step's config
(:func:`test_config_for_checkpoint`; ``ciss.test_step`` names the step when the checkpoint lies elsewhere).

``{step}`` in an override's strings (keys included) becomes the step number, e.g. BARM's learning rate of the
new head: ``{'optim_wrapper.paramwise_cfg.custom_keys': {'decode_head.heads.{step}.': dict(lr_mult=1.0)}}``.

For every step t the runner derives a config from the file: ``ciss.first_step`` / ``ciss.later_steps``
merged in (mmengine ``merge_from_dict``), ``step=t`` in every CISS dataset, ``model.classes_per_step`` =
the task's first t + 1 step sizes, ``model.prev_checkpoint`` = the step-(t-1) checkpoint, and ``work_dir =
<work_dir>/step_<t>``.  It builds a fresh :class:`~visionx.engine.VisionXRunner` from it, so the model grows
and the previous model is frozen *before* the optimizer, the learning rates and the parameter schedulers
are built anew for the step.  The model must accept ``classes_per_step`` and ``prev_checkpoint``
(:class:`~visionx.models.ciss.IncrementalEncoderDecoder` and its subclasses); nothing else about the method
is known here.

After training, the step is tested (the config's ``test_dataloader`` with ``step=t``, e.g.
:class:`~visionx.evaluation.metrics.CISSMetric`), and ``step_<t>/ciss_step.json`` records the final
checkpoint and the metrics; this file marks the step as done.  ``<work_dir>/ciss_results.json`` and
``ciss_results.md`` hold the table across steps (rewritten atomically after every step).

Resume (``tools/train.py --resume``): done steps are skipped (their checkpoints feed the next step); the
first unfinished step resumes from the latest checkpoint of its folder if it has one (inside the step), and
starts fresh otherwise (at the next step).  ``--resume CKPT`` must name a checkpoint inside a
``step_<t>`` folder of the work dir.  Without ``--resume`` every step is trained again.
"""
from __future__ import annotations

import copy
import math
import os
import os.path as osp
import re
from typing import Any

from mmengine.config import Config, ConfigDict
from mmengine.dist import barrier, is_main_process

from visionx.registry import DATASETS, RUNNERS
from visionx.utils import atomic_write_json, atomic_write_text, iter_dataset_cfgs
from visionx.utils.errors import ConfigError, DataFormatError, UserFileNotFoundError

STEP_DONE = 'ciss_step.json'
RESULTS = 'ciss_results'
CISS_KEYS = {'start_step', 'start_checkpoint', 'end_step', 'first_step', 'later_steps', 'test_step'}
TABLE_KEYS = ('mIoU_old', 'mIoU_new', 'mIoU_all', 'hIoU')


def _ciss_dataset_cfgs(cfg: Config) -> list[tuple[str, dict]]:
    out = []
    for split, ds in iter_dataset_cfgs(cfg):
        cls = DATASETS.get(ds.get('type')) if isinstance(ds.get('type'), str) else ds.get('type')
        if cls is not None and getattr(cls, 'CISS_DATASET', ''):
            out.append((split, ds))
    return out


def task_of(cfg: Config):
    """The :class:`~visionx.datasets.ciss.CISSTask` of the config's CISS datasets (they must agree)."""
    from visionx.datasets.ciss import get_task
    found = _ciss_dataset_cfgs(cfg)
    if not any(split == 'train' for split, _ in found):
        raise ConfigError('IncrementalRunner: the train dataloader needs a CISS dataset (CISSVOCDataset, '
                          'CISSADE20KDataset) holding the task')
    tasks = set()
    for _, ds in found:
        cls = DATASETS.get(ds['type']) if isinstance(ds['type'], str) else ds['type']
        task = ds.get('task')
        tasks.add((cls.CISS_DATASET, repr(task)))
    if len(tasks) != 1:
        raise ConfigError(f'IncrementalRunner: the CISS datasets of the config disagree on the task: {sorted(tasks)}')
    _, ds = found[0]
    cls = DATASETS.get(ds['type']) if isinstance(ds['type'], str) else ds['type']
    return get_task(cls.CISS_DATASET, ds['task'])


def format_step(obj: Any, step: int) -> Any:
    """Replace ``{step}`` in every string (dict keys included) of an override by the step number, so that
    per-step modules can be named in ``paramwise_cfg.custom_keys`` (``'decode_head.heads.{step}.'``)."""
    if isinstance(obj, str):
        return obj.replace('{step}', str(step))
    if isinstance(obj, dict):
        return {format_step(k, step): format_step(v, step) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(format_step(v, step) for v in obj)
    return obj


def _last_checkpoint(step_dir: str) -> str | None:
    """The checkpoint named in ``step_dir/last_checkpoint`` (MMEngine's record), if that file exists."""
    record = osp.join(step_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None
    path = open(record).read().strip()
    return path if osp.isfile(path) else None


def _finite(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def results_markdown(rows: list[dict]) -> str:
    """The results table: one row per step, old / new / all mIoU and hIoU in %."""
    lines = ['| step | classes seen | mIoU old | mIoU new | mIoU all | hIoU |', '|---|---|---|---|---|---|']
    for r in rows:
        vals = [('–' if r['metrics'].get(k) is None else f"{r['metrics'][k]:.2f}") for k in TABLE_KEYS]
        lines.append(f"| {r['step']} | {r['num_seen']} | " + ' | '.join(vals) + ' |')
    return '\n'.join(lines) + '\n'


def is_incremental(cfg: Config) -> bool:
    """Whether ``cfg`` is a class-incremental task config (run by :class:`IncrementalRunner`)."""
    return str(cfg.get('runner_type', '')).split('.')[-1] == 'IncrementalRunner'


def test_config_for_checkpoint(cfg: Config, checkpoint: str) -> Config:
    """The config of the step ``checkpoint`` belongs to, for evaluating it with ``tools/test.py``.

    The step is ``ciss.test_step`` if set, else read from the checkpoint's ``step_<t>`` folder.  The model is
    built without ``prev_checkpoint`` (the checkpoint holds the previous model too).

    Raises:
        ConfigError: the step cannot be told.
    """
    ciss = dict(cfg.get('ciss') or {})
    step = ciss.get('test_step')
    if step is None:
        m = re.fullmatch(r'step_(\d+)', osp.basename(osp.dirname(osp.abspath(checkpoint))))
        if not m:
            raise ConfigError(f'{checkpoint}: cannot tell which step it belongs to (it is not in a step_<t> folder); '
                              'set --cfg-options ciss.test_step=T')
        step = int(m.group(1))
    cfg = Config(copy.deepcopy(cfg.to_dict()), filename=cfg.filename)
    cfg.resume, cfg.load_from = False, None
    cfg.ciss = {k: v for k, v in ciss.items() if k in ('first_step', 'later_steps')}
    runner = IncrementalRunner(cfg)
    runner.task.check_step(int(step))
    out = runner.step_config(int(step), prev_checkpoint=None)
    out.model.pop('prev_checkpoint', None)
    return out


@RUNNERS.register_module()
class IncrementalRunner:
    """Train steps ``start_step..end_step`` of a CISS task, one :class:`VisionXRunner` per step.

    See the module docstring for the config.  Built by ``tools/train.py`` through ``runner_type``.

    Args:
        cfg: the full config (``work_dir`` set, e.g. by ``tools/train.py``).
    """

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        ciss = dict(cfg.get('ciss') or {})
        unknown = set(ciss) - CISS_KEYS
        if unknown:
            raise ConfigError(f'ciss: unknown keys {sorted(unknown)}; expected some of {sorted(CISS_KEYS)}')
        self.task = task_of(cfg)
        given = cfg.model.get('classes_per_step')
        if given is not None and list(given) != self.task.classes_per_step[:1]:
            raise ConfigError(f'model.classes_per_step={list(given)} does not match step 0 of task '
                              f'{self.task.name!r} ({self.task.classes_per_step[:1]}); the runner sets it per step')
        if cfg.model.get('prev_checkpoint') is not None:
            raise ConfigError(f'model.prev_checkpoint={cfg.model.prev_checkpoint!r}: the runner sets it per step (the '
                              'previous step\'s last checkpoint); start from a checkpoint with ciss.start_step / '
                              'ciss.start_checkpoint')
        stepped = sorted(split for split, ds in _ciss_dataset_cfgs(cfg) if 'step' in ds)
        if stepped:
            raise ConfigError(f'the {", ".join(stepped)} CISS dataset(s) set step: the runner sets it per step; '
                              'choose the steps with ciss.start_step / ciss.end_step (ciss.test_step for tools/test.py)')
        last = self.task.num_steps - 1
        self.start_step = int(ciss.get('start_step', 0))
        self.end_step = last if ciss.get('end_step') is None else int(ciss['end_step'])
        if not 0 <= self.start_step <= self.end_step <= last:
            raise ConfigError(f'ciss: need 0 <= start_step ({self.start_step}) <= end_step ({self.end_step}) <= '
                              f'{last} (task {self.task.name!r} has {self.task.num_steps} steps)')
        self.first_step = dict(ciss.get('first_step') or {})
        self.later_steps = dict(ciss.get('later_steps') or {})
        self.work_dir = cfg.get('work_dir')
        if not self.work_dir:
            raise ConfigError('IncrementalRunner needs a work_dir')
        self.resume = bool(cfg.get('resume', False))
        self.resume_from = cfg.get('load_from') if self.resume else None
        if cfg.get('load_from') and not self.resume:
            raise ConfigError('IncrementalRunner: load_from is not used; start at step t from a step-(t-1) '
                              'checkpoint with ciss.start_step / ciss.start_checkpoint')
        self.resume_step = None
        if self.resume_from:
            m = re.fullmatch(r'step_(\d+)', osp.basename(osp.dirname(osp.abspath(self.resume_from))))
            if not m or osp.dirname(osp.dirname(osp.abspath(self.resume_from))) != osp.abspath(self.work_dir):
                raise ConfigError(f'--resume {self.resume_from}: IncrementalRunner resumes a checkpoint inside '
                                  f'{self.work_dir}/step_<t>/')
            self.resume_step = int(m.group(1))
        self.start_checkpoint = ciss.get('start_checkpoint')
        if self.start_step >= 1 and self.start_checkpoint is None:
            done = self._done(self.start_step - 1)
            if done is None:
                raise ConfigError(f'ciss.start_step={self.start_step} needs ciss.start_checkpoint (a step-'
                                  f'{self.start_step - 1} checkpoint) or a finished step_{self.start_step - 1} in '
                                  f'{self.work_dir}')
            self.start_checkpoint = done['checkpoint']
        if self.start_checkpoint is not None:
            if self.start_step == 0:
                raise ConfigError('ciss.start_checkpoint is the step-(t-1) checkpoint for start_step t >= 1')
            if not osp.isfile(self.start_checkpoint):
                raise UserFileNotFoundError(f'ciss.start_checkpoint: step-{self.start_step - 1} checkpoint not '
                                            f'found: {self.start_checkpoint}')

    @classmethod
    def from_cfg(cls, cfg: Config) -> 'IncrementalRunner':
        return cls(cfg)

    # per-step configs ----------------------------------------------------------------------------------
    def step_dir(self, step: int) -> str:
        return osp.join(self.work_dir, f'step_{step}')

    def _done(self, step: int) -> dict | None:
        path = osp.join(self.step_dir(step), STEP_DONE)
        if not osp.isfile(path):
            return None
        import json
        try:
            with open(path) as fh:
                done = json.load(fh)
            if not isinstance(done, dict) or 'checkpoint' not in done:
                raise ValueError("no 'checkpoint' entry")
        except ValueError as exc:  # json.JSONDecodeError included
            raise DataFormatError(f'{path}: not a step record written by IncrementalRunner ({exc}); delete it to '
                                  f'train step {step} again') from None
        return done

    def step_config(self, step: int, prev_checkpoint: str | None) -> Config:
        """The config of one step (see the module docstring)."""
        cfg = Config(copy.deepcopy(self.cfg.to_dict()), filename=self.cfg.filename)
        for key in ('ciss', 'runner_type'):
            cfg.pop(key, None)
        overrides = self.first_step if step == 0 else self.later_steps
        if overrides:
            cfg.merge_from_dict(format_step(copy.deepcopy(overrides), step))
        for _, ds in _ciss_dataset_cfgs(cfg):
            ds['step'] = step
        cfg.model['classes_per_step'] = self.task.classes_per_step[:step + 1]
        if step >= 1:
            cfg.model['prev_checkpoint'] = prev_checkpoint
        else:
            cfg.model.pop('prev_checkpoint', None)
        cfg.work_dir = self.step_dir(step)
        name = osp.splitext(osp.basename(self.cfg.filename or 'ciss'))[0]
        cfg.experiment_name = f'{name}_step{step}_{os.getpid()}_{id(cfg)}'
        if isinstance(cfg.get('visualizer'), (dict, ConfigDict)):
            cfg.visualizer['name'] = f'{cfg.experiment_name}_visualizer'
        resume_ckpt = None
        if self.resume:
            if self.resume_step == step:
                resume_ckpt = self.resume_from
            elif self.resume_step is None:
                resume_ckpt = _last_checkpoint(self.step_dir(step))
        cfg.resume, cfg.load_from = resume_ckpt is not None, resume_ckpt
        return cfg

    # driver --------------------------------------------------------------------------------------------
    def train(self) -> list[dict]:
        """Train and test the steps; returns the results rows (also written to ``ciss_results.*``)."""
        from .runner import VisionXRunner
        rows: list[dict] = [d for d in map(self._done, range(self.start_step)) if d is not None]
        prev = self.start_checkpoint
        for step in range(self.start_step, self.end_step + 1):
            done = self._done(step) if self.resume and (self.resume_step is None or step < self.resume_step) \
                else None
            if done is None and self.resume_step is not None and step < self.resume_step:
                raise ConfigError(f'--resume {self.resume_from}: step {step} is not finished (no '
                                  f'{osp.join(self.step_dir(step), STEP_DONE)})')
            if done is not None:
                rows.append(done)
                prev = done['checkpoint']
                continue
            cfg = self.step_config(step, prev)
            runner = VisionXRunner.from_cfg(cfg)
            runner.train()
            barrier()  # rank 0 writes the checkpoint and its record; the other ranks read the record
            ckpt = _last_checkpoint(self.step_dir(step))
            if ckpt is None:
                raise RuntimeError(f'step {step} wrote no checkpoint to {self.step_dir(step)}: keep a '
                                   'CheckpointHook in default_hooks (the next step starts from it)')
            metrics = runner.test() if cfg.get('test_dataloader') else {}
            row = dict(step=step, num_seen=self.task.num_seen(step), checkpoint=ckpt,
                       classes=list(self.task.steps[step]),
                       metrics={k: _finite(float(v)) for k, v in (metrics or {}).items()
                                if isinstance(v, (int, float))})
            if is_main_process():
                atomic_write_json(osp.join(self.step_dir(step), STEP_DONE), row)
            rows.append(row)
            self._write_results(rows)
            prev = ckpt
            del runner
        self._write_results(rows)
        return rows

    def _write_results(self, rows: list[dict]) -> None:
        if not is_main_process():
            return
        table = dict(task=self.task.name, dataset=self.task.dataset, steps=rows)
        atomic_write_json(osp.join(self.work_dir, f'{RESULTS}.json'), table)
        atomic_write_text(osp.join(self.work_dir, f'{RESULTS}.md'),
                          f'{self.task.dataset} {self.task.name}\n\n' + results_markdown(rows))
