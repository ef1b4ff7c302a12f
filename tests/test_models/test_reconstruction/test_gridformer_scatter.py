"""Scatter ops: golden values and torch_scatter vs native equality (outputs and gradients)."""
import pytest
import torch

from visionx.models.reconstruction import scatter

needs_ts = pytest.mark.skipif(not scatter.torch_scatter_available(), reason='torch_scatter not installed')


@pytest.fixture(params=['native', 'torch_scatter'])
def backend(request):
    if request.param == 'torch_scatter' and not scatter.torch_scatter_available():
        pytest.skip('torch_scatter not installed')
    old = scatter.get_scatter_backend()
    scatter.set_scatter_backend(request.param)
    yield request.param
    scatter.set_scatter_backend(old)


def test_golden(backend):
    src = torch.tensor([[[1.0, 2.0, 3.0, 5.0]]])   # (B=1, C=1, N=4)
    index = torch.tensor([[0, 0, 2, 2]])
    assert scatter.scatter_mean(src, index, 4).tolist() == [[[1.5, 0.0, 4.0, 0.0]]]
    assert scatter.scatter_sum(src, index, 4).tolist() == [[[3.0, 0.0, 8.0, 0.0]]]
    soft = scatter.scatter_softmax(src, index, 4)[0, 0]
    e = torch.exp(torch.tensor([1.0, 2.0]))
    assert torch.allclose(soft[:2], e / e.sum())
    e = torch.exp(torch.tensor([3.0, 5.0]))
    assert torch.allclose(soft[2:], e / e.sum())


@needs_ts
def test_backends_match_outputs_and_gradients():
    torch.manual_seed(0)
    src = torch.randn(2, 5, 300, dtype=torch.float64)
    index = torch.randint(0, 40, (2, 300))
    results = {}
    old = scatter.get_scatter_backend()
    try:
        for name in ('native', 'torch_scatter'):
            scatter.set_scatter_backend(name)
            x = src.clone().requires_grad_(True)
            w = torch.randn(2, 5, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
            outs = [scatter.scatter_mean(x, index, 40), scatter.scatter_sum(x, index, 40),
                    scatter.scatter_softmax(x, index, 40)]
            loss = (outs[0] * w).sum() + (outs[1] * w).sum() + (outs[2] * x.detach().cos()).sum()
            loss.backward()
            results[name] = ([o.detach() for o in outs], x.grad.clone())
    finally:
        scatter.set_scatter_backend(old)
    for a, b in zip(results['native'][0], results['torch_scatter'][0]):
        assert torch.allclose(a, b, atol=1e-10)
    assert torch.allclose(results['native'][1], results['torch_scatter'][1], atol=1e-10)


def test_bad_backend():
    with pytest.raises(ValueError, match='backend'):
        scatter.set_scatter_backend('cuda')
