"""Checkpoint converters against the *recorded* official layouts, not against VisionX's own names.

The official state dicts are built from ``shared/fixtures/official_state_dict_keys/*.json`` (key names and
tensor shapes recorded from the official model definitions; a sibling folder of the repository), filled with
random values.  Each is converted and must load **strictly** into the VisionX model of the matching config,
with every official tensor used exactly once (the converted dict holds the very tensor objects of the
official dict, one each).
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tests.conftest import REPO_ROOT

FIXTURES = REPO_ROOT.parent / 'shared' / 'fixtures' / 'official_state_dict_keys'
BASNET_CONFIG = REPO_ROOT / 'configs/basnet/basnet_r34_1xb8-400k_duts-320.py'
GRIDFORMER_CONFIG = REPO_ROOT / 'configs/gridformer/gridformer_3plane64_2xb16-stage1-1501e_shapenet-3k.py'


def official_state_dict(name: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors in the recorded official layout ``<FIXTURES>/<name>`` (key order preserved)."""
    path = FIXTURES / name
    if not path.is_file():
        pytest.fail(f'{path} not found: the official state-dict key fixtures must sit in shared/fixtures/ next '
                    f'to the repository ({REPO_ROOT})')
    record = json.loads(path.read_text())
    shapes = record['state_dict']
    assert len(shapes) == record['num_tensors'], f'{path}: num_tensors disagrees with the key list'
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        if key.endswith('num_batches_tracked'):
            state[key] = torch.randint(0, 1000, tuple(shape), generator=gen)
        else:
            state[key] = torch.randn(tuple(shape), generator=gen)
    return state


def build_model(config: Path) -> torch.nn.Module:
    from visionx.registry import MODELS
    init_default_scope('visionx')
    return MODELS.build(Config.fromfile(str(config)).model)


def assert_each_official_tensor_used_once(official: dict, converted: dict) -> None:
    assert len(converted) == len(official), f'{len(official)} official tensors became {len(converted)}'
    official_ids = {id(v): k for k, v in official.items()}
    used = [official_ids.get(id(v)) for v in converted.values()]
    assert None not in used, 'the converted dict holds tensors that are not official tensors'
    assert sorted(used) == sorted(official), 'some official tensors are used twice or never'


def assert_loads_strictly(model: torch.nn.Module, converted: dict) -> None:
    result = model.load_state_dict(converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    state = model.state_dict()
    for key, value in converted.items():
        assert torch.equal(state[key], value), f'{key} was not loaded'


def _cli(name: str):
    path = REPO_ROOT / 'tools/model_converters' / name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# --- BASNet -----------------------------------------------------------------------------------------
def test_basnet_official_layout_loads_strictly():
    from visionx.models.converters.basnet import convert_official_basnet, is_official_basnet
    official = official_state_dict('basnet_resnet34.json')
    assert len(official) == 517
    assert is_official_basnet(official)
    converted = convert_official_basnet(official)
    assert_each_official_tensor_used_once(official, converted)
    model = build_model(BASNET_CONFIG)
    assert_loads_strictly(model, converted)
    # Spot checks written from the official names (xuebinqin/BASNet model/BASNet.py).
    assert converted['encoder.stem.conv.weight'] is official['inconv.weight']
    assert converted['refine.conv_out.weight'] is official['refunet.conv_d0.weight']
    assert converted['decoder.side_convs.0.weight'] is official['outconvb.weight']


def test_basnet_dataparallel_prefix_and_wrapped_state():
    from visionx.models.converters.basnet import convert_official_basnet
    official = official_state_dict('basnet_resnet34.json', seed=1)
    wrapped = {'state_dict': {f'module.{k}': v for k, v in official.items()}}
    converted = convert_official_basnet(wrapped)
    assert_each_official_tensor_used_once(official, converted)


def test_basnet_rejects_foreign_keys():
    from visionx.models.converters.basnet import convert_official_basnet
    with pytest.raises(ValueError, match='not official BASNet'):
        convert_official_basnet({'backbone.conv1.weight': torch.zeros(1)})


def test_basnet_cli_round_trip(tmp_path):
    official = official_state_dict('basnet_resnet34.json', seed=2)
    torch.save(official, tmp_path / 'basnet.pth')
    assert _cli('basnet_official_to_visionx.py').main([str(tmp_path / 'basnet.pth'), str(tmp_path / 'out.pth')]) == 0
    ckpt = torch.load(tmp_path / 'out.pth', weights_only=True)
    assert len(ckpt['state_dict']) == len(official)  # convert_file itself checks that BASNet is filled
    assert torch.equal(ckpt['state_dict']['refine.conv_out.weight'], official['refunet.conv_d0.weight'])


# --- GridFormer -------------------------------------------------------------------------------------
def test_gridformer_official_layout_loads_strictly():
    from visionx.models.converters.gridformer import convert_state_dict
    official = official_state_dict('gridformer_3plane_shapenet.json')
    assert len(official) == 371
    converted = convert_state_dict(official)
    assert_each_official_tensor_used_once(official, converted)
    assert_loads_strictly(build_model(GRIDFORMER_CONFIG), converted)


def test_gridformer_checkpoint_file_with_dataparallel_prefix(tmp_path):
    from visionx.models.converters.gridformer import convert_file
    official = official_state_dict('gridformer_3plane_shapenet.json', seed=1)
    torch.save({'model': {f'module.{k}': v for k, v in official.items()}, 'epoch_it': 3}, tmp_path / 'model.pt')
    assert _cli('gridformer_official_to_visionx.py').main([str(tmp_path / 'model.pt'), str(tmp_path / 'out.pth')]) == 0
    assert convert_file(tmp_path / 'model.pt', tmp_path / 'out2.pth') == len(official)
    state = torch.load(tmp_path / 'out.pth', weights_only=True)['state_dict']
    assert_loads_strictly(build_model(GRIDFORMER_CONFIG), state)


def test_gridformer_grid_names_by_hand():
    """The 3-D grid variant's renames (no recorded fixture): official ``encoder.unet3d.`` -> ``encoder.unet.``."""
    from visionx.models.converters.gridformer import convert_key
    assert (convert_key('module.encoder.unet3d.encoders.0.basic_module.SingleConv1.groupnorm.weight')
            == 'encoder.unet.encoders.0.basic_module.SingleConv1.groupnorm.weight')
    assert convert_key('encoder.unet.down_convs.0.conv_q.0.weight') == 'encoder.unet.down_levels.0.conv_q.weight'
    assert convert_key('encoder.fc_pos.weight') == 'encoder.fc_pos.weight'


def test_gridformer_errors(tmp_path):
    from visionx.models.converters.gridformer import convert_state_dict, load_official
    with pytest.raises(ValueError, match='unexpected key'):
        convert_state_dict({'module.other.weight': torch.zeros(1)})
    with pytest.raises(FileNotFoundError):
        load_official(tmp_path / 'missing.pt')


def test_gridformer_converter_refuses_empty_and_partial_checkpoints(tmp_path):
    """Nothing is written for an empty or partial official checkpoint: the result must fill the paper model."""
    from visionx.models.converters.gridformer import convert_file
    from visionx.utils.errors import CheckpointMismatchError, DataFormatError
    torch.save({'model': {}}, tmp_path / 'empty.pt')
    with pytest.raises(DataFormatError, match='holds no tensors'):
        convert_file(tmp_path / 'empty.pt', tmp_path / 'out.pth')
    official = official_state_dict('gridformer_3plane_shapenet.json')
    partial = dict(list(official.items())[:10])
    torch.save({'model': partial}, tmp_path / 'partial.pt')
    with pytest.raises(CheckpointMismatchError, match="3-plane GridFormer"):
        convert_file(tmp_path / 'partial.pt', tmp_path / 'out.pth')
    assert not (tmp_path / 'out.pth').exists()
    # with --config: checked against that config's model
    torch.save({'model': official}, tmp_path / 'model.pt')
    assert convert_file(tmp_path / 'model.pt', tmp_path / 'out.pth', config=GRIDFORMER_CONFIG) == len(official)
