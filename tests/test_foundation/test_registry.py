"""Registries: VisionX and mmseg names resolve from one config without register_all_modules()."""
import subprocess
import sys

from tests.conftest import REPO_ROOT

SCRIPT = f'''
import sys
sys.path.insert(0, {str(REPO_ROOT)!r})
from mmengine.config import Config
from mmengine.registry import init_default_scope
from visionx.registry import HOOKS, MODELS, METRICS
cfg = Config.fromfile({str(REPO_ROOT / "tests/fixtures/tiny_seg.py")!r})
assert cfg.default_scope == 'visionx'
init_default_scope(cfg.default_scope)
model = MODELS.build(cfg.model)                      # mmseg EncoderDecoder / UNet / FCNHead
hook = HOOKS.build(dict(type='ParamSyncCheckHook'))  # a VisionX hook
metric = METRICS.build(dict(type='IoUMetric'))       # an mmseg metric
print(type(model).__module__, type(hook).__module__, type(metric).__module__)
'''


def test_fresh_interpreter_builds_visionx_and_mmseg_modules():
    proc = subprocess.run([sys.executable, '-c', SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    mods = proc.stdout.strip().splitlines()[-1].split()
    assert mods[0].startswith('mmseg.models.segmentors')
    assert mods[1].startswith('visionx.engine.hooks')
    assert mods[2].startswith('mmseg.evaluation')


def test_registries_are_children_with_locations():
    import visionx.registry as reg
    from mmseg import registry as mmseg_reg
    for name in ['MODELS', 'DATASETS', 'TRANSFORMS', 'METRICS', 'HOOKS', 'LOOPS', 'DATA_SAMPLERS',
                 'VISUALIZERS', 'OPTIMIZERS', 'PARAM_SCHEDULERS', 'RUNNERS']:
        child = getattr(reg, name)
        assert child.parent is getattr(mmseg_reg, name), name
        assert child.scope == 'visionx'
        assert child._locations and child._locations[0].startswith('visionx.'), name
