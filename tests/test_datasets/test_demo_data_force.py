"""make_demo_data(force=True): the previous dataset survives a regeneration that fails midway."""
import pytest

from visionx.datasets import demo_data


def test_force_replaces_only_a_finished_dataset(tmp_path, monkeypatch):
    def good(out, seed, small):
        (out / 'sample.txt').write_text(f'seed {seed}')

    def broken(out, seed, small):
        (out / 'half.txt').write_text('partial')
        raise KeyboardInterrupt  # killed midway

    monkeypatch.setitem(demo_data.DEMO_GENERATORS, 'fake', 'unused:unused')
    monkeypatch.setattr(demo_data, 'get_generator', lambda name: good)
    (target,) = demo_data.make_demo_data(tmp_path, ['fake'], seed=1)
    assert (target / 'sample.txt').read_text() == 'seed 1' and (target / '.complete').is_file()
    monkeypatch.setattr(demo_data, 'get_generator', lambda name: broken)
    with pytest.raises(KeyboardInterrupt):
        demo_data.make_demo_data(tmp_path, ['fake'], seed=2, force=True)
    assert (target / 'sample.txt').read_text() == 'seed 1' and not (target / 'half.txt').exists()
    monkeypatch.setattr(demo_data, 'get_generator', lambda name: good)
    demo_data.make_demo_data(tmp_path, ['fake'], seed=3)  # complete: kept without force
    assert (target / 'sample.txt').read_text() == 'seed 1'
    demo_data.make_demo_data(tmp_path, ['fake'], seed=3, force=True)
    assert (target / 'sample.txt').read_text() == 'seed 3' and (target / '.complete').read_text() == 'seed=3 small=False\n'
