"""tools/test.py reports a missing checkpoint first, before the data roots are checked or a model is built."""
import importlib.util

import pytest

from tests.conftest import REPO_ROOT


def test_missing_checkpoint_is_reported_before_anything_is_built(tmp_path, monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location('tools_test', REPO_ROOT / 'tools' / 'test.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    from visionx.registry import MODELS
    from visionx.utils.cli import run_tool

    def no_build(*args, **kwargs):
        raise AssertionError('a model was built before the checkpoint was checked')
    monkeypatch.setattr(MODELS, 'build', no_build)
    # the config's data root (data/tiny_seg) does not exist either: the checkpoint must be reported first
    argv = [str(REPO_ROOT / 'tests/fixtures/tiny_seg.py'), str(tmp_path / 'absent.pth'),
            '--work-dir', str(tmp_path / 'work')]
    with pytest.raises(SystemExit) as exc:
        run_tool(lambda: tool.main(argv))
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith(f'error: checkpoint not found: {tmp_path / "absent.pth"}')
    assert list(tmp_path.iterdir()) == []
