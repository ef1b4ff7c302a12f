"""``RePRITestLoop``: RePRI's episodic test (official ``src/test.py: episodic_validate``).

For every episode batch of the test dataloader the frozen base model extracts the bottleneck features of
the query and the K supports once (no gradient); the tasks are buffered until ``batch_size_val`` of them
are pending, then a :class:`~visionx.models.fewshot.RePRIClassifier` is fitted to all of them jointly
(gradients enabled inside the test; every task keeps its own prototype and bias) and the query
predictions go to the evaluator (:class:`~visionx.evaluation.metrics.FewShotMetric`).  Predictions and
labels stay in the padded ``size × size`` frame (417×417) like the official evaluation.

The episodes themselves (query, class, supports, run) are drawn when the dataset is built, from its
``seed``: the loop adds no randomness.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop

from visionx.models.fewshot.repri import EmptyTaskError, RePRIClassifier
from visionx.registry import LOOPS
from visionx.utils.errors import ConfigError, DataFormatError
from visionx.utils.precision import autocast

#: Hooks that need per-iteration model outputs, which this loop does not produce (tasks are fitted by groups).
_OUTPUT_HOOKS = ('PredictionWriterHook', 'PredictionVisualizationHook')


@LOOPS.register_module()
class RePRITestLoop(TestLoop):
    """Episodic few-shot test with RePRI's transductive per-task classifier.

    Args:
        runner: the runner.
        dataloader: episodic test dataloader (or its config).
        evaluator: evaluator (or its config), normally ``FewShotMetric``.
        batch_size_val: tasks optimised jointly (official ``batch_size_val``: 200 for 1-shot, 100 for
            5-shot, 50 for 10-shot); only memory and speed depend on it.
        classifier: keyword arguments of :class:`~visionx.models.fewshot.RePRIClassifier`
            (``temperature``, ``adapt_iter``, ``weights``, ``lr``, ``fb_param_update``, ``fb_param_type``,
            ``kl_weight_increment``, ``norm_feat``).
        fp16: as :class:`mmengine.runner.TestLoop` (autocast for the feature extraction only).
        precision: ``'fp32'`` (default), ``'bf16'`` or ``'fp16'``: autocast dtype of the feature extraction
            (:func:`visionx.utils.precision.resolve_precision` values; ``tools/test.py --precision`` sets it,
            since this loop calls the model itself and not ``test_step``).  The classifier is always fitted in
            fp32 on the features cast back to fp32.  Exclusive with ``fp16=True``.
    """

    #: ``tools/test.py`` hands ``--precision`` to the loop: it never calls ``model.test_step``
    TAKES_PRECISION = True

    def __init__(self, runner, dataloader: Any, evaluator: Any, batch_size_val: int = 200,
                 classifier: dict | None = None, fp16: bool = False, precision: str = 'fp32') -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        if precision not in ('fp32', 'bf16', 'fp16'):
            raise ConfigError(f"RePRITestLoop: precision must be 'fp32', 'bf16' or 'fp16', got {precision!r}")
        if fp16 and precision != 'fp32':
            raise ConfigError(f'RePRITestLoop: set either fp16=True or precision={precision!r}, not both')
        self.precision = precision
        if int(batch_size_val) < 1:
            raise ValueError(f'batch_size_val must be >= 1, got {batch_size_val}')
        self.batch_size_val = int(batch_size_val)
        self.classifier = RePRIClassifier(**(classifier or {}))
        self._pending: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict]] = []

    def _model(self):
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    def run(self) -> dict:
        """Extract features, fit the per-task classifiers by groups of ``batch_size_val``, evaluate.

        Raises:
            ConfigError: a prediction writer / visualisation hook (``tools/test.py --out / --show-dir``) is
                registered: the loop has no per-iteration outputs for them.
        """
        bad = [type(h).__name__ for h in self.runner.hooks if type(h).__name__ in _OUTPUT_HOOKS]
        if bad:
            raise ConfigError(f'RePRITestLoop does not support {bad} (tools/test.py --out / --show-dir): tasks are '
                              'fitted by groups after their iteration; use --out-metrics and the metric table')
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        self._pending = []
        for idx, data_batch in enumerate(self.dataloader):
            self.runner.call_hook('before_test_iter', batch_idx=idx, data_batch=data_batch)
            self._extract(data_batch)
            while len(self._pending) >= self.batch_size_val:
                self._fit_pending(self.batch_size_val)
            self.runner.call_hook('after_test_iter', batch_idx=idx, data_batch=data_batch, outputs=[])
        if self._pending:
            self._fit_pending(len(self._pending))
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics

    @torch.no_grad()
    def _extract(self, data_batch: dict) -> None:
        model = self._model()
        data = model.data_preprocessor(data_batch, False)
        if 'support_inputs' not in data:
            raise ValueError('RePRITestLoop needs an episodic test dataset (mode="episodic"): the batch has no '
                             'support_inputs')
        n, k = data['support_inputs'].shape[:2]
        device = data['inputs'].device
        ctx = (autocast(self.precision, device) if self.precision != 'fp32'
               else torch.autocast(device_type=device.type, enabled=self.fp16))
        with ctx:
            f_q = model.extract_bottleneck_features(data['inputs']).float()
            f_s = model.extract_bottleneck_features(data['support_inputs'].flatten(0, 1)).float()
        f_s = f_s.view(n, k, *f_s.shape[1:])
        for i, sample in enumerate(data['data_samples']):
            m_q = sample.gt_sem_seg.data.long().to(f_q.device)  # (1, H, W)
            m_s = data['support_masks'][i].to(f_q.device)  # (K, H, W)
            meta = dict(class_id=int(sample.class_id), run=int(sample.run), episode=int(sample.episode),
                        img_path=sample.get('img_path'))
            self._pending.append((f_s[i], f_q[i:i + 1], m_s, m_q, meta))

    def _fit_pending(self, count: int) -> None:
        tasks, self._pending = self._pending[:count], self._pending[count:]
        f_s = torch.stack([t[0] for t in tasks])
        f_q = torch.stack([t[1] for t in tasks])
        m_s = torch.stack([t[2] for t in tasks])
        m_q = torch.stack([t[3] for t in tasks])
        try:
            state = self.classifier.fit(f_s, f_q, m_s, m_q)
        except EmptyTaskError as err:
            bad = [(tasks[i][4]['episode'], tasks[i][4]['img_path']) for i in err.tasks]
            raise DataFormatError(f'{err}: (episode, query image) {bad}') from err
        preds = self.classifier.predict(state, f_q, m_q.shape[-2:])
        outputs: Sequence[dict] = [dict(pred_mask=preds[i].cpu(), gt_mask=m_q[i, 0].cpu(),
                                        **{k: v for k, v in tasks[i][4].items() if k != 'img_path'})
                                   for i in range(len(tasks))]
        self.evaluator.process(data_samples=outputs, data_batch=None)
