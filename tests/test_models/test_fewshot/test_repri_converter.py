"""RePRI converter: a transcription of the official PSPNet (src/model/pspnet.py on PFENet's deep-base
ResNet, widths scaled down) -> converted state dict loads strictly and gives the same bottleneck features."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from visionx.models.converters.repri import convert_file, convert_official_repri
from visionx.registry import MODELS
from visionx.utils.errors import CheckpointMismatchError, DataFormatError


class OfficialBottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class OfficialPSPNet(nn.Module):
    """Official structure and names with base width ``w`` (64 in the real model), bins 1/2/3/6."""

    def __init__(self, w=4, layers=(3, 4, 6, 3), classes=16, bins=(1, 2, 3, 6)):
        super().__init__()
        conv = lambda i, o, s=1: nn.Conv2d(i, o, 3, stride=s, padding=1, bias=False)  # noqa: E731
        self.layer0 = nn.Sequential(conv(3, w, 2), nn.BatchNorm2d(w), nn.ReLU(), conv(w, w), nn.BatchNorm2d(w),
                                    nn.ReLU(), conv(w, 2 * w), nn.BatchNorm2d(2 * w), nn.ReLU(),
                                    nn.MaxPool2d(3, 2, 1))
        inplanes = 2 * w
        stages = []
        for i, (n, stride) in enumerate(zip(layers, (1, 2, 2, 2))):
            planes = w * 2 ** i
            down = None
            if stride != 1 or inplanes != planes * 4:
                down = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride=stride, bias=False),
                                     nn.BatchNorm2d(planes * 4))
            blocks = [OfficialBottleneck(inplanes, planes, stride, down)]
            inplanes = planes * 4
            blocks += [OfficialBottleneck(inplanes, planes) for _ in range(1, n)]
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        for layer, d in ((self.layer3, 2), (self.layer4, 4)):  # as PSPNet.__init__
            for n, m in layer.named_modules():
                if 'conv2' in n:
                    m.dilation, m.padding, m.stride = (d, d), (d, d), (1, 1)
                elif 'downsample.0' in n:
                    m.stride = (1, 1)
        fea = 32 * w
        red = fea // len(bins)
        self.ppm = nn.Module()
        self.ppm.features = nn.ModuleList([nn.Sequential(nn.AdaptiveAvgPool2d(b), nn.Conv2d(fea, red, 1, bias=False),
                                                         nn.BatchNorm2d(red), nn.ReLU()) for b in bins])
        self.bottleneck = nn.Sequential(nn.Conv2d(2 * fea, red, 3, padding=1, bias=False), nn.BatchNorm2d(red),
                                        nn.ReLU(), nn.Dropout2d(0.1))
        self.classifier = nn.Conv2d(red, classes, 1)

    def extract_features(self, x):
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.layer0(x)))))
        outs = [x] + [F.interpolate(f(x), x.shape[2:], mode='bilinear', align_corners=True) for f in self.ppm.features]
        return self.bottleneck(torch.cat(outs, 1))


def visionx_model(w=4, classes=16):
    init_default_scope('visionx')
    norm = dict(type='BN')
    return MODELS.build(dict(
        type='FewShotEncoderDecoder',
        backbone=dict(type='ResNetV1c', depth=50, base_channels=w, stem_channels=2 * w, out_indices=(3,),
                      dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm, contract_dilation=False),
        decode_head=dict(type='PSPHead', in_channels=32 * w, in_index=0, channels=8 * w, pool_scales=(1, 2, 3, 6),
                         dropout_ratio=0.1, num_classes=classes, norm_cfg=norm, align_corners=True)))


def randomize(model):
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) * 0.5 + (0.5 if 'var' in name else -0.1))


def test_converted_official_model_gives_the_same_features(tmp_path):
    official = OfficialPSPNet()
    randomize(official)
    src = tmp_path / 'best.pth'
    state = {f'module.{k}': v for k, v in official.state_dict().items()}
    torch.save({'epoch': 3, 'state_dict': state}, src)
    ours = visionx_model()
    n = convert_file(src, tmp_path / 'out.pth', ours)
    assert n == len(state)
    ours.load_state_dict(torch.load(tmp_path / 'out.pth', weights_only=True)['state_dict'], strict=True)
    official.eval()
    ours.eval()
    x = torch.randn(1, 3, 33, 33)
    with torch.no_grad():
        ref = official.extract_features(x)
        got = ours.extract_bottleneck_features(x)
    assert got.shape == ref.shape == (1, 32, 5, 5)
    assert torch.allclose(got, ref, rtol=1e-4, atol=1e-5)
    assert torch.equal(ours.decode_head.conv_seg.weight, official.classifier.weight)


def test_converter_errors(tmp_path):
    with pytest.raises(DataFormatError, match='not official RePRI'):
        convert_official_repri({'module.head.weight': torch.zeros(1)})
    state = {f'model.{k}': v for k, v in OfficialPSPNet(classes=61).state_dict().items()}
    torch.save(state, tmp_path / 'coco.pth')
    with pytest.raises(CheckpointMismatchError, match='shape'):
        convert_file(tmp_path / 'coco.pth', tmp_path / 'o.pth', visionx_model(classes=16))
    assert not (tmp_path / 'o.pth').exists()


def _run_tool(argv, capsys):
    import importlib.util

    from tests.conftest import REPO_ROOT
    from visionx.utils.cli import run_tool
    path = REPO_ROOT / 'tools' / 'model_converters' / 'repri_official_to_visionx.py'
    spec = importlib.util.spec_from_file_location('repri_official_to_visionx', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with pytest.raises(SystemExit) as exc:
        run_tool(lambda: mod.main([str(a) for a in argv]))
    return exc.value.code, capsys.readouterr()


def test_converter_tool(tmp_path, capsys):
    torch.save({f'module.{k}': v for k, v in OfficialPSPNet().state_dict().items()}, tmp_path / 'best.pth')
    cfg = tmp_path / 'tiny.py'
    cfg.write_text("default_scope = 'visionx'\nmodel = dict(type='FewShotEncoderDecoder', backbone=dict("
                   "type='ResNetV1c', depth=50, base_channels=4, stem_channels=8, out_indices=(3,), "
                   "dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=dict(type='BN'), contract_dilation=False), "
                   "decode_head=dict(type='PSPHead', in_channels=128, in_index=0, channels=32, "
                   "pool_scales=(1, 2, 3, 6), num_classes=16, norm_cfg=dict(type='BN'), align_corners=True))\n")
    code, out = _run_tool([tmp_path / 'best.pth', tmp_path / 'out.pth', '--config', cfg], capsys)
    assert code == 0 and 'converted' in out.out and (tmp_path / 'out.pth').is_file()
    code, out = _run_tool([tmp_path / 'missing.pth', tmp_path / 'x.pth'], capsys)
    assert code == 2 and out.err.startswith('error:') and 'missing.pth' in out.err
