"""The package layout of issue 10: imports point one way, losses have one home, renamed names still build."""
from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / 'visionx'

# package -> visionx packages it must never import (tools/apis -> engine -> models/datasets/evaluation -> utils)
FORBIDDEN = {
    'utils': {'apis', 'benchmarks', 'engine', 'models', 'datasets', 'evaluation', 'visualization'},
    'models': {'apis', 'benchmarks', 'engine', 'datasets', 'evaluation'},
    'datasets': {'apis', 'benchmarks', 'engine', 'models', 'evaluation'},
    'evaluation': {'apis', 'benchmarks', 'engine', 'models', 'datasets'},
    'engine': {'apis', 'benchmarks'},
}


def _visionx_imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported visionx module) of every import in ``path``, function-level ones included."""
    tree = ast.parse(path.read_text(), str(path))
    parts = path.relative_to(PKG.parent).with_suffix('').parts
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith('visionx')]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: level 1 is the module's package (parts[:-1], also for __init__)
                base = parts[:len(parts) - node.level]
                mod = '.'.join(base + ((node.module,) if node.module else ()))
            else:
                mod = node.module or ''
            if mod.startswith('visionx'):
                out.append((node.lineno, mod))
    return out


def _modules(package: str):
    return sorted((PKG / package).rglob('*.py'))


@pytest.mark.parametrize('package', sorted(FORBIDDEN))
def test_imports_point_one_way(package):
    bad = []
    for path in _modules(package):
        for line, mod in _visionx_imports(path):
            target = mod.split('.')[1] if mod.count('.') else ''
            if target in FORBIDDEN[package]:
                bad.append(f'{path.relative_to(PKG.parent)}:{line} imports {mod}')
    assert not bad, '\n'.join(bad)


def test_no_private_mmengine_imports_and_no_class_swaps():
    bad = []
    for path in PKG.rglob('*.py'):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or '').startswith(('mmengine', 'mmseg', 'mmcv')):
                bad += [f'{path}:{node.lineno} imports private {node.module}.{a.name}'
                        for a in node.names if a.name.startswith('_')]
            if isinstance(node, ast.Assign):
                bad += [f'{path}:{node.lineno} assigns __class__' for t in node.targets
                        if isinstance(t, ast.Attribute) and t.attr == '__class__']
    assert not bad, '\n'.join(bad)


def test_every_loss_lives_in_models_losses_and_shares_the_base():
    import visionx.models  # noqa: F401  (registers everything)
    from visionx.models.losses import BaseLoss
    from visionx.registry import MODELS
    losses = {name: cls for name, cls in MODELS.module_dict.items()  # (tests register their own losses too)
              if name.endswith('Loss') and cls.__module__.startswith('visionx.')}
    assert len(losses) >= 15
    for name, cls in losses.items():
        assert cls.__module__.startswith('visionx.models.losses.'), (name, cls.__module__)
        assert issubclass(cls, BaseLoss), name
    # no loss module outside models/losses
    strays = [p for p in (PKG / 'models').rglob('*loss*.py') if 'losses' not in p.relative_to(PKG).parts[:2]]
    assert not strays


def test_networks_are_not_segmentors():
    import visionx.models  # noqa: F401
    from visionx.registry import MODELS
    assert MODELS.get('MonaiDynUNet').__module__ == 'visionx.models.networks.dynunet'


@pytest.mark.parametrize('registry_name,old,new', [
    ('MODELS', 'TopoLoss', 'PersistentHomologyLoss'),
    ('MODELS', 'TOPOLoss', 'ConnectivityMALISLoss'),
    ('DATASETS', 'PancreasH5Dataset', 'PancreasDataset'),
    ('DATASETS', 'BraTS19H5Dataset', 'BraTS19Dataset'),
    ('DATASETS', 'ShapeNetOccupancyDataset', 'ShapeNetDataset'),
])
def test_renamed_classes_keep_deprecated_aliases(registry_name, old, new):
    import visionx.datasets  # noqa: F401
    import visionx.models  # noqa: F401
    from visionx import registry
    reg = getattr(registry, registry_name)
    old_cls, new_cls = reg.get(old), reg.get(new)
    assert old_cls is not new_cls and issubclass(old_cls, new_cls)
    assert old.lower() != new.lower()  # readers can tell the new names apart
    if registry_name == 'MODELS':
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            built = reg.build(dict(type=old))
        assert isinstance(built, new_cls)
        assert any(issubclass(w.category, DeprecationWarning) and new in str(w.message) for w in caught)


def test_dataset_classes_follow_one_naming_scheme():
    import visionx.datasets  # noqa: F401
    from visionx.registry import DATASETS
    names = [n for n, cls in DATASETS.module_dict.items()
             if cls.__module__.startswith('visionx.') and 'deprecated' not in (cls.__doc__ or '').lower()]
    assert names
    for name in names:  # <Benchmark or family>Dataset, without the file format in the name
        assert name.endswith('Dataset') and 'H5Dataset' not in name.replace('MedicalH5Dataset', ''), name
        assert 'Occupancy' not in name, name


def test_visualisation_registries_hold_something():
    from visionx import registry
    for name in ('VISUALIZERS', 'VISBACKENDS'):
        reg = getattr(registry, name)
        reg.import_from_location()
        assert reg.module_dict, f'{name} is empty'
    assert not hasattr(registry, 'INFERENCERS')  # VisionX has no mmengine inferencer: no empty registry


def test_configs_use_the_current_names():
    configs = Path(__file__).resolve().parents[2] / 'configs'
    old = ('TopoLoss', 'TOPOLoss', 'PancreasH5Dataset', 'BraTS19H5Dataset', 'ShapeNetOccupancyDataset')
    bad = [f'{p.relative_to(configs)}: {name}' for p in configs.rglob('*.py') for name in old
           if f"'{name}'" in p.read_text()]
    assert not bad, bad
