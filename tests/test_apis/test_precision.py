"""--precision: resolution rules, the test-step wrapper, and bf16 object-cut masks against fp32 on CPU."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from visionx.utils import ConfigError
from visionx.utils import precision as prec


def test_resolve_precision_rules(monkeypatch):
    assert prec.resolve_precision('fp32', 'cpu') == 'fp32'
    assert prec.resolve_precision('bf16', 'cpu') == 'bf16'  # autocast bf16 runs on every CPU
    with pytest.raises(ConfigError, match='fp16 needs a CUDA device'):
        prec.resolve_precision('fp16', 'cpu')
    with pytest.raises(ConfigError, match='expected one of'):
        prec.resolve_precision('int8', 'cpu')
    monkeypatch.setattr(prec, 'cpu_has_fast_bf16', lambda: True)
    assert prec.resolve_precision('auto', 'cpu') == 'bf16'
    monkeypatch.setattr(prec, 'cpu_has_fast_bf16', lambda: False)
    assert prec.resolve_precision('auto', 'cpu') == 'fp32'


def test_autocast_contexts():
    x, w = torch.randn(2, 8), torch.randn(8, 4)
    with prec.autocast('fp32', 'cpu'):
        assert (x @ w).dtype == torch.float32
    with prec.autocast('bf16', 'cpu'):
        assert (x @ w).dtype == torch.bfloat16
    with pytest.raises(ConfigError, match='not resolved'):
        prec.autocast('auto', 'cpu')


class _TinySeg(torch.nn.Module):
    """A 2-D conv net with an MMEngine-style ``test_step`` returning a tensor and a data sample."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 3, padding=1)

    def test_step(self, data):
        logits = self.conv(data)
        sample = SegDataSample()
        sample.seg_logits = PixelData(data=logits[0])
        return dict(logits=logits, samples=[sample])


def test_wrap_test_step_fp32_untouched_and_bf16_cast_back():
    torch.manual_seed(0)
    model = _TinySeg()
    x = torch.randn(1, 3, 16, 16)
    ref = F.conv2d(x, model.conv.weight, model.conv.bias, padding=1)  # by hand, fp32
    same = prec.wrap_test_step(model, 'fp32', 'cpu')
    assert same is model and 'test_step' not in model.__dict__  # the class method, nothing wrapped
    assert model.conv.weight.is_contiguous()  # no channels-last in fp32
    assert torch.equal(model.test_step(x)['logits'], ref)

    prec.wrap_test_step(model, 'bf16', 'cpu')
    assert model.conv.weight.is_contiguous(memory_format=torch.channels_last)
    out = model.test_step(x)
    assert out['logits'].dtype == torch.float32
    assert out['samples'][0].seg_logits.data.dtype == torch.float32
    # bf16 keeps 8 significant bits: inputs and weights rounded to 2^-8 relative error, 27 products summed
    bound = 27 * 2 * 2 ** -8 * (x.abs().max() * model.conv.weight.abs().max()).item() + 1e-6
    assert (out['logits'] - ref).abs().max().item() <= bound


def test_channels_last_only_for_2d_nets():
    net3d = torch.nn.Sequential(torch.nn.Conv3d(1, 2, 3))
    assert not prec.to_channels_last(net3d)
    assert prec.is_2d_conv_net(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3)))


def test_object_cut_bf16_masks_match_fp32():
    """bf16 autocast and fp32 give the same 0.5-threshold masks on a fixed input, except where the fp32 map
    lies within the stated tolerance (0.02 of the min-max normalised map) of the threshold."""
    from visionx.apis.object_cut import ObjectCutter
    from visionx.models.salient import BASNet
    torch.manual_seed(0)
    model = BASNet(encoder=dict(type='BASNetEncoder', init_cfg=None)).eval()
    rgb = (np.random.default_rng(0).random((30, 40, 3)) * 255).astype(np.uint8)
    fp32 = ObjectCutter(model=model, input_size=32, precision='fp32', fuse_bn=False)
    bf16 = ObjectCutter(model=model, input_size=32, precision='bf16', fuse_bn=False)  # same weights
    assert (fp32.precision, bf16.precision) == ('fp32', 'bf16')
    p32, p16 = fp32.predict([rgb])[0], bf16.predict([rgb])[0]
    assert p16.dtype == np.float32
    tol = 0.02
    assert np.abs(p32 - p16).max() <= tol
    differ = (p32 >= 0.5) != (p16 >= 0.5)
    assert not differ[np.abs(p32 - 0.5) > tol].any()
    with pytest.raises(ConfigError, match='fp16 needs a CUDA device'):
        ObjectCutter(model=model, input_size=32, precision='fp16')
