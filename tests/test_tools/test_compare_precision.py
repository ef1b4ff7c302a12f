"""tools/analysis/compare_precision.py: fp32 against itself gives no difference, bf16 the differences computed
here from the model directly; the pieces (probabilities, mask IoU, mesh IoU, probability recording) by hand."""
from __future__ import annotations

import copy
import importlib.util
import json

import numpy as np
import pytest
import torch

from tests.conftest import REPO_ROOT

TOPOMORTAR_CFG = 'configs/topomortar/cedice_dynunet-tiny_1xb4-300it_topomortar-demo-128x128.py'
# a 4-level DynUNet with 4..16 filters and the first test image only: about a second per pass
OPTIONS = {'model.network.num_levels': 4, 'model.network.filters': [4, 8, 16, 16],
           'model.network.deep_supr_num': 2, 'test_dataloader.dataset.indices': 1}


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('vx_compare_precision', REPO_ROOT / 'tools' / 'analysis'
                                                  / 'compare_precision.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def topomortar(tmp_path_factory):
    """(data root, checkpoint, model, cfg): the TopoMortar demo data and a random tiny DynUNet checkpoint."""
    from mmengine.registry import init_default_scope

    from visionx.datasets.demo_data import make_demo_data
    from visionx.registry import MODELS
    from visionx.utils import load_config
    from visionx.utils.config import set_data_root
    tmp = tmp_path_factory.mktemp('compare_precision')
    (root,) = make_demo_data(tmp / 'demo', names=['topomortar'], small=True, seed=0)
    cfg = load_config(str(REPO_ROOT / TOPOMORTAR_CFG), OPTIONS)
    set_data_root(cfg, str(root))
    init_default_scope('visionx')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    ckpt = tmp / 'model.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    return root, ckpt, model, cfg


def _run(tool, topomortar, tmp_path, precision):
    root, ckpt, _, _ = topomortar
    out = tmp_path / 'sub' / f'{precision}.json'
    argv = [str(REPO_ROOT / TOPOMORTAR_CFG), str(ckpt), '--precision', precision, '--data-root', str(root),
            '--out', str(out), '--warmup', '0', '--cfg-options', *(f'{k}={v}' for k, v in OPTIONS.items())]
    assert tool.main(argv) == 0
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # atomic: no temporary file left behind
    return json.loads(out.read_text())


def _direct(model, cfg, precision):
    """The first test sample's seg_logits / labels as tools/test.py computes them, without the tool."""
    from mmengine.dataset import pseudo_collate

    from visionx.registry import DATASETS
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    model = copy.deepcopy(model)
    with torch.no_grad():
        if precision == 'bf16':
            model.to(memory_format=torch.channels_last)
            with torch.autocast('cpu', dtype=torch.bfloat16):
                (out,) = model.test_step(pseudo_collate([dataset[0]]))
        else:
            (out,) = model.test_step(pseudo_collate([dataset[0]]))
    return out.seg_logits.data.float(), out.pred_sem_seg.data[0].numpy()


def test_fp32_against_itself_is_exact(tool, topomortar, tmp_path):
    report = _run(tool, topomortar, tmp_path, 'fp32')
    assert report['samples'] == 1 and report['precision'] == 'fp32'
    assert report['probability']['max_abs_diff'] == 0.0 and report['probability']['mean_abs_diff'] == 0.0
    assert report['probability']['values'] == 2 * 128 * 128  # two classes of the 128x128 test image
    assert report['mask']['iou_min'] == 1.0 and report['mask']['changed'] == 0
    assert report['mask']['total'] == 128 * 128
    assert report['metrics']['fp32'] and set(report['metrics']['delta']) == set(report['metrics']['fp32'])
    assert all(d == 0 or np.isnan(d) for d in report['metrics']['delta'].values())
    assert report['time_s']['fp32'] > 0 and report['time_s']['low'] > 0


def test_bf16_differences_match_a_direct_computation(tool, topomortar, tmp_path):
    _, _, model, cfg = topomortar
    report = _run(tool, topomortar, tmp_path, 'bf16')
    logits32, labels32 = _direct(model, cfg, 'fp32')
    logits16, labels16 = _direct(model, cfg, 'bf16')
    diff = (logits32.softmax(0) - logits16.softmax(0)).abs()
    # two classes: p1 = sigmoid(l1 - l0) moves by at most 1/4 of the change of the logit margin; and a loose
    # absolute bound (this random net's logits lie in about [-10, 5] and bf16 moves its margin by up to ~0.4)
    margin_change = ((logits32[1] - logits32[0]) - (logits16[1] - logits16[0])).abs().max().item()
    assert 0 < report['probability']['max_abs_diff'] <= margin_change / 4 + 1e-6
    assert report['probability']['max_abs_diff'] < 0.25
    assert report['probability']['max_abs_diff'] == pytest.approx(float(diff.max()), abs=1e-6)
    assert report['probability']['mean_abs_diff'] == pytest.approx(float(diff.double().mean()), rel=1e-4)
    fg32, fg16 = labels32 != 0, labels16 != 0
    union = (fg32 | fg16).sum()
    expected_iou = (fg32 & fg16).sum() / union if union else 1.0
    assert report['mask']['iou_min'] == pytest.approx(expected_iou)
    assert report['mask']['changed'] == int((labels32 != labels16).sum())
    dice = report['metrics']['delta']['Dice']
    assert dice == pytest.approx(report['metrics']['low']['Dice'] - report['metrics']['fp32']['Dice'])


def test_probabilities_and_mask_counts_by_hand(tool):
    logits = torch.tensor([[[0.0]], [[np.log(3.0)]]])  # softmax: 1/4, 3/4
    np.testing.assert_allclose(tool.probabilities(logits).flatten().numpy(), [0.25, 0.75], rtol=1e-6)
    np.testing.assert_allclose(tool.probabilities(torch.tensor([[[0.0]]])).item(), 0.5)  # sigmoid, 1 channel
    sal = torch.tensor([[[0.3]]])
    assert tool.probabilities(sal, is_probability=True).item() == pytest.approx(0.3)  # SOD: kept as is
    a = np.array([[0, 1, 1], [2, 0, 0]])
    b = np.array([[0, 1, 0], [1, 1, 0]])
    # foreground a: 3 pixels, b: 3 pixels, both: (0,1), (1,0) -> 2; union 4; labels differ at 3 places
    assert tool.mask_counts(a, b) == (2, 4, 3, 6)
    assert tool.iou(2, 4) == 0.5 and tool.iou(0, 0) == 1.0
    cmp = tool.Comparison()
    cmp.masks += [(2, 4, 3, 6), (0, 0, 0, 6)]
    cmp.add_probs(torch.tensor([0.1, 0.5]), torch.tensor([0.2, 0.5]))
    rep = cmp.report()
    assert rep['mask']['iou_min'] == 0.5 and rep['mask']['iou_mean'] == 0.75
    assert rep['mask']['iou_pooled'] == 0.5 and rep['mask']['changed_fraction'] == 0.25
    assert rep['probability']['max_abs_diff'] == pytest.approx(0.1)
    assert rep['probability']['mean_abs_diff'] == pytest.approx(0.05)


def _box(lo, hi):
    """Closed axis-aligned box mesh (8 vertices, 12 outward triangles)."""
    v = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])], np.float32)
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return dict(vertices=v, faces=f)


def test_mesh_iou_of_two_boxes(tool):
    # cell centres of a 10^3 grid on [0, 1]^3; boxes [0, .5] x [0, 1]^2 and [.2, .6] x [0, 1]^2 (padded in y, z)
    g = (np.arange(10) + 0.5) / 10
    pts = np.stack(np.meshgrid(g, g, g, indexing='ij'), -1).reshape(-1, 3).astype(np.float32)
    a, b = _box((0, -1, -1), (0.5, 2, 2)), _box((0.2, -1, -1), (0.6, 2, 2))
    # x centres inside a: 0.05..0.45 (5), inside b: 0.25..0.55 (4); both: 0.25..0.45 (3); union 6
    assert tool.mesh_pair_iou(a, b, pts) == pytest.approx(3 / 6)
    assert tool.mesh_pair_iou(a, a, pts) == 1.0


def test_record_probs_sees_every_map_and_restores(tool):
    class Net(torch.nn.Module):
        def predict_probs(self, volume, name):
            return volume * (2 if name == 'net2' else 1)

        def test_step(self, x):
            return [self.predict_probs(x, 'net1'), self.predict_probs(x, 'net2')]

    net, store = Net(), []
    with tool.record_probs(net, store):
        net.test_step(torch.ones(2))
    assert [s.tolist() for s in store] == [[1.0, 1.0], [2.0, 2.0]]
    assert 'predict_probs' not in net.__dict__  # the class method is back
    with tool.record_probs(torch.nn.Identity(), store):  # no predict_probs: nothing recorded
        pass
    assert len(store) == 2


def test_user_errors_before_building(tool, tmp_path, capsys):
    from visionx.utils.cli import run_tool
    cfg = str(REPO_ROOT / TOPOMORTAR_CFG)
    with pytest.raises(SystemExit) as exc:
        run_tool(lambda: tool.main([cfg, str(tmp_path / 'missing.pth')]))
    assert exc.value.code == 2 and 'checkpoint not found' in capsys.readouterr().err
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': {}}, ckpt)
    with pytest.raises(SystemExit) as exc:
        run_tool(lambda: tool.main([cfg, str(ckpt), '--precision', 'fp16']))
    assert exc.value.code == 2 and capsys.readouterr().err.startswith('error: --precision fp16 needs a CUDA')
