"""``ParamSyncCheckHook``: verifies that data-parallel replicas hold identical weights."""
from __future__ import annotations

import hashlib

import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from visionx.registry import HOOKS
from visionx.utils import atomic_write_json


def state_dict_digest(model: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer (name, dtype, shape and bytes), in state-dict order."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        digest.update(f'{name}:{t.dtype}:{tuple(t.shape)}'.encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b'')  # 0-d: reshape
    return digest.hexdigest()


@HOOKS.register_module()
class ParamSyncCheckHook(Hook):
    """Gather a digest of the model's weights from every rank and check that they agree.

    Run every ``interval`` iterations and after training.  A mismatch means the replicas diverged (e.g. an
    unsynchronised buffer or a rank-dependent branch); it raises unless ``strict=False``.

    Args:
        interval: Check every this many training iterations (0: only after training).
        out_file: Name of a JSON file in the work dir where rank 0 records the digests of each check.
        strict: Raise ``RuntimeError`` on a mismatch instead of logging a warning.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 0, out_file: str | None = 'param_sync.json',
                 strict: bool = True) -> None:
        self.interval = interval
        self.out_file = out_file
        self.strict = strict
        self.records: list[dict] = []

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.interval and self.every_n_train_iters(runner, self.interval):
            self._check(runner)

    def after_train(self, runner) -> None:
        self._check(runner)

    def _check(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        digests = all_gather_object(state_dict_digest(model))
        record = dict(iter=runner.iter, world_size=get_world_size(), digests=digests,
                      in_sync=len(set(digests)) == 1)
        self.records.append(record)
        if get_rank() == 0 and self.out_file:
            atomic_write_json(f'{runner.work_dir}/{self.out_file}', self.records)
        if not record['in_sync']:
            msg = f'model replicas diverged at iteration {runner.iter}: {digests}'
            if self.strict:
                raise RuntimeError(msg)
            runner.logger.warning(msg)
