"""The topology_losses_3d benchmark case: every loss runs on 3-D volumes and is reported against CE+Dice."""
from types import SimpleNamespace

from visionx.benchmarks import load_cases
from visionx.benchmarks.topomortar import LOSSES, _tubes_3d


def test_topology_losses_3d_case_runs_every_loss():
    labels = _tubes_3d(1, 24)
    assert labels.shape == (1, 24, 24, 24) and 0.02 < labels.float().mean() < 0.6
    args = SimpleNamespace(cfg_options=dict(size=24), batch_size=1, device='cpu', iters=1, warmup=0)
    rows = load_cases()['topology_losses_3d'](args)
    assert [r.case.split('/')[1] for r in rows] == list(LOSSES)
    assert rows[0].extra['time_vs_cedice'] == 1.0
    for r in rows:
        assert r.extra['size'] == 24 and r.latencies_s[0] > 0 and 'time_vs_cedice' in r.extra
