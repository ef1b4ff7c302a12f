"""GridFormer model: paper parameter counts, shapes, attention maths, backends, bad input."""
import numpy as np
import pytest
import torch

from visionx.models.reconstruction import GridFormer, scatter
from visionx.models.reconstruction.point_grid_attention import PointGridAttention
from visionx.registry import MODELS


def tiny(plane_type=('xz', 'xy', 'yz')) -> GridFormer:
    torch.manual_seed(0)
    return MODELS.build(dict(type='GridFormer', encoder=dict(plane_type=plane_type, resolution=8, c_dim=8,
                                                             hidden_dim=8),
                             decoder=dict(hidden_size=8),
                             test_cfg=dict(mesh=dict(resolution=24, refine_iters=2))))


def test_parameter_counts_against_the_official_layout():
    """3-plane: exactly the parameters of the recorded official state dict (shared/fixtures, buffers left out).
    Grid-64: no recorded fixture; METHODS.md 1.3.5 gives ~10.22 M from the official definitions."""
    import json

    from tests.conftest import REPO_ROOT
    record = json.loads((REPO_ROOT.parent / 'shared' / 'fixtures' / 'official_state_dict_keys' /
                         'gridformer_3plane_shapenet.json').read_text())
    buffers = ('running_mean', 'running_var', 'num_batches_tracked')
    official = sum(int(np.prod(shape)) for key, shape in record['state_dict'].items() if not key.endswith(buffers))
    assert official == 4_304_399  # the count the fixture states
    model = MODELS.build(dict(type='GridFormer', encoder=dict(), decoder=dict()))
    assert sum(p.numel() for p in model.parameters()) == official
    grid = MODELS.build(dict(type='GridFormer', encoder=dict(plane_type=('grid',)), decoder=dict()))
    assert sum(p.numel() for p in grid.parameters()) == pytest.approx(10.22e6, abs=0.005e6)


@pytest.mark.parametrize('plane_type', [('xz', 'xy', 'yz'), ('grid',)])
def test_shapes_and_loss(plane_type):
    model = tiny(plane_type)
    x = torch.rand(2, 50, 3) - 0.5
    feats = model.encode(x)
    assert [next(iter(f.values())).shape[1:2] for f in feats] == [(32,), (16,), (8,)]
    res = [next(iter(f.values())).shape[-1] for f in feats]
    assert res == [4, 8, 8]
    q = torch.rand(2, 33, 3) - 0.5
    assert model.decode(q, feats).shape == (2, 33)
    assert torch.allclose(model.decode(q, feats, chunk=10), model.decode(q, feats), atol=1e-6)
    losses = model(x, dict(points=q, points_occ=torch.ones(2, 33)), mode='loss')
    assert set(losses) == {'loss_occ'} and losses['loss_occ'].item() > 0


def test_attention_softmax_per_cell_matches_reference():
    """Two points in one cell, one alone: weights sum to 1 per cell and per weight channel, the lone point
    gets weight 1; with C = 8 and s = 4 there are C/s = 2 weight channels and value channel j = i (C/s) + t
    is weighted by channel t = j mod 2 (METHODS.md 1.3.2, steps 6-7)."""
    torch.manual_seed(0)
    attn = PointGridAttention(in_channels=8, channels=8, dim=2, share_channels=4).eval()
    grid = torch.randn(1, 8, 2, 2)
    # 'xy' plane at R=2: cells by sign of x (fastest) and y
    pts = torch.tensor([[[-0.3, -0.3, 0.0], [-0.2, -0.4, 0.1], [0.3, 0.3, 0.0]]])
    feats = torch.randn(1, 3, 8)
    k, v = attn.project_points(feats)
    out = attn.aggregate(pts, 'xy', k, v, grid)
    # reference, by hand: relation, weight, softmax within cell 0 (points 0,1) and cell 3 (point 2)
    u = pts[0, :, :2] / (1 + 0.1 + 1e-5) + 0.5
    pos = attn.fc_pos(u - (u * 2).floor() / 2)
    q = attn.conv_q(grid).reshape(8, 4).t()
    cells = [0, 0, 3]
    a = attn.fc_w(k[0] - q[cells] + pos)                   # (3, 2): two weight channels
    assert a.shape == (3, 2)
    expected = torch.zeros(8, 4)
    for j in range(8):
        t = j % 2
        w01 = torch.softmax(a[:2, t], 0)  # over the two points of cell 0, weight channel t on its own
        expected[j, 0] = w01[0] * (v[0, 0, j] + pos[0, j]) + w01[1] * (v[0, 1, j] + pos[1, j])
        expected[j, 3] = v[0, 2, j] + pos[2, j]
    assert not torch.allclose(torch.softmax(a[:2, 0], 0), torch.softmax(a[:2, 1], 0))  # the channels differ
    assert torch.allclose(out.reshape(8, 4), expected, atol=1e-5)


@pytest.mark.skipif(not scatter.torch_scatter_available(), reason='torch_scatter not installed')
def test_model_same_with_both_scatter_backends():
    model = tiny()
    x = torch.rand(2, 60, 3) - 0.5
    q = torch.rand(2, 20, 3) - 0.5
    grads = {}
    old = scatter.get_scatter_backend()
    try:
        for name in ('native', 'torch_scatter'):
            scatter.set_scatter_backend(name)
            model.zero_grad()
            out = model(x, dict(points=q, points_occ=torch.ones(2, 20)), mode='loss')['loss_occ']
            out.backward()
            grads[name] = (out.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None])
    finally:
        scatter.set_scatter_backend(old)
    assert torch.allclose(grads['native'][0], grads['torch_scatter'][0], atol=1e-5)
    for a, b in zip(grads['native'][1], grads['torch_scatter'][1]):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize('bad,match', [
    (torch.zeros(1, 0, 3), 'at least 2'),
    (torch.zeros(1, 1, 3), 'at least 2'),
    (torch.full((1, 10, 3), float('nan')), 'NaN'),
    (torch.tensor([[[0.0, 0.0, float('inf')], [0.1, 0.1, 0.1]]]), 'NaN or Inf'),
    (torch.ones(1, 10, 3) * 0.2, 'identical'),
    (torch.zeros(10, 3), r'\(B, N, 3\)'),
])
def test_bad_inputs(bad, match):
    with pytest.raises(ValueError, match=match):
        tiny().encode(bad)


def test_predict_mesh_and_iou_outputs():
    model = tiny().eval()
    x = torch.rand(1, 200, 3) - 0.5
    out = model.predict(x, dict(points_iou=torch.rand(1, 500, 3) - 0.5, generate_mesh=torch.tensor([True])))
    assert out[0]['occ_prob_iou'].shape == (500,)
    assert out[0]['vertices'].ndim == 2 and out[0]['faces'].ndim == 2


def test_predict_probabilities_of_a_hand_built_decoder():
    """Decoder weights that give the logit k (0.4 - |x| - |y| - |z|) whatever the encoder features.

    ``fc_c`` zero (features drop out), residual blocks zero (identities), ``fc_p`` writes (x, -x, y, -y, z, -z)
    into six hidden units and ``fc_out`` sums their ReLUs with weight -k and bias 0.4 k.
    """
    model = tiny().eval()
    k = 10.0
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.zero_()
        for i in range(3):
            model.decoder.fc_p.weight[2 * i, i] = 1.0
            model.decoder.fc_p.weight[2 * i + 1, i] = -1.0
        model.decoder.fc_out.weight[0, :6] = -k
        model.decoder.fc_out.bias.fill_(0.4 * k)
    q = torch.rand(1, 300, 3) - 0.5
    out = model.predict(torch.rand(1, 200, 3) - 0.5, dict(points_iou=q))
    l1 = q[0].double().abs().sum(1).numpy()
    expected = 1 / (1 + np.exp(-k * (0.4 - l1)))
    np.testing.assert_allclose(np.asarray(out[0]['occ_prob_iou'], np.float64), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('mesh, match', [
    (dict(method='mise', resolution=64), r"method 'mise' does not take \['resolution'\]"),
    (dict(method='sparse_mc', resolution0=16), r"method 'sparse_mc' does not take \['resolution0'\]"),
    (dict(method='dual_contouring'), "must be 'sparse_mc' or 'mise'"),
])
def test_mesh_options_are_checked_against_the_method_when_built(mesh, match):
    from visionx.utils import ConfigError
    with pytest.raises(ConfigError, match=match):
        MODELS.build(dict(type='GridFormer', encoder=dict(resolution=8, c_dim=8, hidden_dim=4),
                          decoder=dict(in_channels=(32, 16, 8), hidden_size=8), test_cfg=dict(mesh=mesh)))


def test_mise_config_meshes_and_overrides_are_checked():
    """A mise config (its own options only) extracts a mesh through the model's test path; an override
    that belongs to the other method is refused before any work."""
    from visionx.utils import ConfigError
    torch.manual_seed(0)
    model = MODELS.build(dict(type='GridFormer', encoder=dict(resolution=8, c_dim=8, hidden_dim=4),
                              decoder=dict(in_channels=(32, 16, 8), hidden_size=8),
                              test_cfg=dict(mesh=dict(method='mise', resolution0=8, upsampling_steps=1,
                                                      threshold=0.5)))).eval()
    with torch.no_grad():  # the decoder's output bias alone: occupied everywhere in the box
        for p in model.decoder.parameters():
            p.zero_()
        model.decoder.fc_out.bias.fill_(5.0)
    x = torch.rand(1, 50, 3) - 0.5
    assert model.mesh_settings() == ('mise', dict(resolution0=8, upsampling_steps=1, threshold=0.5))
    verts, faces = model.extract_mesh(model.encode(x), x[0])
    # the surface is the box's boundary: mise's box is 1 + padding = 1.1 wide (the model's default box_size)
    assert len(faces) > 0 and faces.shape[1] == 3
    assert np.abs(verts).max() == pytest.approx(0.55, abs=0.55 / 8)
    with pytest.raises(ConfigError, match='does not take'):
        model.extract_mesh(model.encode(x), x[0], resolution=32)
