"""The ciss_step benchmark case: step-1 rows for MiB and BARM with the frozen previous model."""
from types import SimpleNamespace

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from visionx.benchmarks import load_cases

MIB = 'configs/ciss/mib_deeplabv3-tiny_1xb8-300it_demo-voc-3-2-2-overlap.py'
BARM = 'configs/ciss/barm_deeplabv3-tiny_1xb8-300it_demo-voc-3-2-2-overlap.py'


def test_ciss_step_rows():
    from visionx.registry import MODELS
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        args = SimpleNamespace(cfg_options=dict(configs=f'{MIB},{BARM}'), batch_size=2, device='cpu', iters=1,
                               warmup=0)
        rows = load_cases()['ciss_step'](args)
    finally:
        torch.set_num_threads(n)
    assert [r.case.split('_')[0] for r in rows] == ['mib', 'mib', 'barm', 'barm']
    assert [r.case.endswith('/prev_forward') for r in rows] == [False, True, False, True]
    init_default_scope('visionx')
    for row, path in ((rows[0], MIB), (rows[2], BARM)):
        # the frozen previous model is the step-0 network: the demo task has 4 classes at step 0
        step0 = MODELS.build(Config.fromfile(path).model)
        assert row.extra['frozen_params'] == sum(p.numel() for p in step0.parameters())
        assert row.extra['step'] == 1 and row.extra['batch'] == 2 and row.latencies_s[0] > 0
    # at step 1 the current model has the step-0 parameters plus the new classifier (and, for BARM, the new ear)
    assert rows[0].extra['trainable_params'] == rows[0].extra['frozen_params'] + 32 * 2 + 2
    assert rows[2].extra['trainable_params'] == rows[2].extra['frozen_params'] + (32 * 32 * 9 + 2 * 32) + 32 * 3 + 3
