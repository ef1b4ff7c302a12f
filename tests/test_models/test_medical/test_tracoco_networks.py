"""V-Net and 3D U-Net of TraCoCo: parameter counts of the paper-size networks, shapes, bad input."""
import pytest
import torch

from visionx.models.medical import MedicalUNet3D, VNet


def _n(m):
    return sum(p.numel() for p in m.parameters())


def test_paper_size_parameter_counts():
    # V-Net(16 filters, BN) of the LA / Pancreas models and unet_3D(feature_scale=4, IN) of BraTS.
    assert _n(VNet()) == 9_448_866
    assert _n(MedicalUNet3D()) == 5_884_050


@pytest.mark.parametrize('cls', [VNet, MedicalUNet3D])
def test_shapes_and_errors(cls):
    net = cls(base_channels=2).eval()
    out = net(torch.randn(2, 1, 32, 16, 16))
    assert out.shape == (2, 2, 32, 16, 16)
    with pytest.raises(ValueError, match='divisible by 16'):
        net(torch.randn(1, 1, 20, 16, 16))
    with pytest.raises(ValueError, match=r'\(B, C, X, Y, Z\)'):
        net(torch.randn(1, 32, 16, 16))


def test_vnet_dropout_only_in_training():
    net = VNet(base_channels=2)
    x = torch.randn(1, 1, 32, 32, 16)  # BatchNorm needs > 1 value per channel at the bottleneck
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    torch.manual_seed(0)
    a = net(x)
    torch.manual_seed(1)
    assert not torch.equal(a, net(x))
    assert not VNet(base_channels=2, has_dropout=False).dropout.__class__.__name__.startswith('Dropout')
