"""The repri_episodes benchmark case runs and reports tasks per second for each group size."""
from types import SimpleNamespace

from visionx.benchmarks import load_cases


def test_repri_episodes_case_runs():
    args = SimpleNamespace(cfg_options=dict(tasks='1,3', channels=8, feat=5, size=33, adapt_iter=3), device='cpu',
                           iters=1, warmup=0)
    rows = load_cases()['repri_episodes'](args)
    assert [r.case for r in rows] == ['repri_episodes/T1', 'repri_episodes/T3']
    assert [r.items_per_iter for r in rows] == [1, 3]
    assert all(r.latencies_s[0] > 0 and r.extra['steps'] == 2 and r.unit == 'tasks' for r in rows)
