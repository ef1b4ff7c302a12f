"""measure_interleaved: alternating round order and the median paired ratio against the baseline."""
import itertools

import pytest

from visionx.benchmarks import interleave


def test_rounds_alternate_and_ratios_are_paired(monkeypatch):
    calls = []
    # fake clock: every call to perf_counter advances by the duration of the variant that runs next
    durations = {'a': 2.0, 'b': 1.0, 'c': 4.0}
    clock = itertools.count()
    now = [0.0]

    def run(name):
        calls.append(name)
        now[0] += durations[name] * (2 if len(calls) in (1, 2, 3) and name == 'b' else 1)

    monkeypatch.setattr(interleave.time, 'perf_counter', lambda: now[0] + 0 * next(clock))
    rows = interleave.measure_interleaved({n: (lambda n=n: run(n)) for n in 'abc'}, case='x', unit='it',
                                          rounds=3, warmup=0)
    assert calls == ['a', 'b', 'c', 'c', 'b', 'a', 'a', 'b', 'c']
    by = {r.extra['variant']: r for r in rows}
    assert by['b'].latencies_s == [2.0, 1.0, 1.0]  # slowed down in round 0 only
    # paired ratios t_a / t_b per round: 1, 2, 2 -> median 2; a / c: 0.5 each round
    assert by['a'].extra['speedup'] == 1.0 and by['b'].extra['speedup'] == 2.0 and by['c'].extra['speedup'] == 0.5
    assert all(r.extra['baseline'] == 'a' and r.case == f'x:{r.extra["variant"]}' for r in rows)
    with pytest.raises(KeyError):
        interleave.measure_interleaved({'a': lambda: None}, case='x', unit='it', baseline='z')


def test_machine_info_and_ratio_lines():
    info = interleave.machine_info()
    assert info['cores'] >= 1 and info['torch_threads'] >= 1 and len(info['loadavg']) == 3
    text = interleave.format_ratios([dict(case='x:b', speedup=2.0, baseline='a'), dict(case='y')])
    assert text.splitlines()[1].split() == ['x:b', '2.00x', 'vs', 'a']
    assert interleave.format_ratios([dict(case='y')]) == ''
