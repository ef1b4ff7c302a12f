"""BASNet network: exact parameter count, output layout, ImageNet init, official-weight conversion."""
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from visionx.models.salient import BASNet, BASNetEncoder
from visionx.models.converters.basnet import convert_official_basnet, is_official_basnet


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return BASNet(encoder=dict(type='BASNetEncoder', init_cfg=None)).eval()


def test_parameter_count(model):
    assert sum(p.numel() for p in model.parameters()) == 87_060_360


def test_eight_outputs_refined_first(model):
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        outs = model(x, mode='tensor')
        coarse = model.decoder(model.encoder(x))[1][-1]
    assert len(outs) == 8 and all(o.shape == (2, 1, 32, 32) for o in outs)
    assert torch.allclose(outs[1], coarse)  # D1 side output
    assert torch.allclose(outs[0], model.refine(coarse))  # refined = coarse + residual


def test_odd_input_size_and_predict_resizes_back(model):
    from mmseg.structures import SegDataSample
    x = torch.randn(1, 3, 40, 36)  # not a multiple of 32
    ds = SegDataSample(metainfo=dict(ori_shape=(50, 90), img_shape=(40, 36)))
    with torch.no_grad():
        out = model.predict(x, [ds])[0]
    prob = out.seg_logits.data
    assert prob.shape == (1, 50, 90) and 0 <= prob.min() and prob.max() <= 1
    assert torch.equal(out.pred_sem_seg.data, (prob > 0.5).float())


def test_encoder_missing_imagenet_checkpoint_warns(tmp_path):
    enc = BASNetEncoder(init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'none.pth')))
    with pytest.warns(UserWarning, match='trained from scratch'):
        enc.init_weights()


def test_encoder_loads_torchvision_resnet34_names(tmp_path):
    enc = BASNetEncoder()
    # a torchvision-resnet34-shaped checkpoint: 7x7 stem (ignored), layer1-4 (loaded), fc (ignored)
    tv = {'conv1.weight': torch.randn(64, 3, 7, 7), 'fc.weight': torch.randn(1000, 512)}
    for k, v in enc.state_dict().items():
        if k.split('.')[0] in ('layer1', 'layer2', 'layer3', 'layer4'):
            tv[k] = torch.randn_like(v.float()).to(v.dtype) if v.is_floating_point() else v.clone()
    torch.save(tv, tmp_path / 'resnet34.pth')
    enc2 = BASNetEncoder(init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'resnet34.pth')))
    stem_before = enc2.stem.conv.weight.clone()
    enc2.init_weights()
    assert torch.equal(enc2.layer3[2].conv1.weight, tv['layer3.2.conv1.weight'])
    assert torch.equal(enc2.layer2[0].downsample[0].weight, tv['layer2.0.downsample.0.weight'])
    assert torch.equal(enc2.stem.conv.weight, stem_before)
    torch.save({'foo': torch.zeros(1)}, tmp_path / 'bad.pth')
    with pytest.raises(ValueError, match='resnet34'):
        BASNetEncoder(init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'bad.pth'))).init_weights()


# --- a reference network with the official module names (written from the paper's description) ---------
def _cbr(i, o, d=1):
    return nn.Conv2d(i, o, 3, padding=d, dilation=d), nn.BatchNorm2d(o)


class _OfficialLayout(nn.Module):
    """BASNet with xuebinqin/BASNet parameter names; forward as described in the paper (scale upsampling)."""

    def __init__(self):
        super().__init__()
        ref = BASNetEncoder()
        self.inconv, self.inbn = ref.stem.conv, ref.stem.bn
        for i in range(1, 5):
            setattr(self, f'encoder{i}', getattr(ref, f'layer{i}'))
        for s in (5, 6):
            for j in range(3):
                setattr(self, f'resb{s}_{j + 1}', getattr(ref, f'layer{s}')[j])
        for p in ('1', 'm', '2'):
            c, b = _cbr(512, 512, 2)
            setattr(self, f'convbg_{p}', c)
            setattr(self, f'bnbg_{p}', b)
        spec = {'6': (1024, (512, 512, 512), (1, 2, 2)), '5': (1024, (512, 512, 512), (1, 1, 1)),
                '4': (1024, (512, 512, 256), (1, 1, 1)), '3': (512, (256, 256, 128), (1, 1, 1)),
                '2': (256, (128, 128, 64), (1, 1, 1)), '1': (128, (64, 64, 64), (1, 1, 1))}
        for s, (cin, outs, dils) in spec.items():
            prev = cin
            for p, o, d in zip(('1', 'm', '2'), outs, dils):
                c, b = _cbr(prev, o, d)
                setattr(self, f'conv{s}d_{p}', c)
                setattr(self, f'bn{s}d_{p}', b)
                prev = o
        for s, c in (('b', 512), ('6', 512), ('5', 512), ('4', 256), ('3', 128), ('2', 64), ('1', 64)):
            setattr(self, f'outconv{s}', nn.Conv2d(c, 1, 3, padding=1))
        r = nn.Module()
        r.conv0 = nn.Conv2d(1, 64, 3, padding=1)
        for i in range(1, 6):
            setattr(r, f'conv{i}', nn.Conv2d(64, 64, 3, padding=1))
            setattr(r, f'bn{i}', nn.BatchNorm2d(64))
        for i in range(1, 5):
            setattr(r, f'conv_d{i}', nn.Conv2d(128, 64, 3, padding=1))
            setattr(r, f'bn_d{i}', nn.BatchNorm2d(64))
        r.conv_d0 = nn.Conv2d(64, 1, 3, padding=1)
        self.refunet = r

    @staticmethod
    def _up(x, f):
        return F.interpolate(x, scale_factor=f, mode='bilinear', align_corners=False)

    def _stage(self, x, names):
        for c, b in names:
            x = F.relu(getattr(self, b)(getattr(self, c)(x)))
        return x

    def forward(self, x):
        pool = nn.MaxPool2d(2, 2, ceil_mode=True)
        hx = F.relu(self.inbn(self.inconv(x)))
        h1 = self.encoder1(hx)
        h2 = self.encoder2(h1)
        h3 = self.encoder3(h2)
        h4 = self.encoder4(h3)
        h5 = self.resb5_3(self.resb5_2(self.resb5_1(pool(h4))))
        h6 = self.resb6_3(self.resb6_2(self.resb6_1(pool(h5))))
        hbg = self._stage(h6, [(f'convbg_{p}', f'bnbg_{p}') for p in '1m2'])
        hd, skips, feats = hbg, {'6': h6, '5': h5, '4': h4, '3': h3, '2': h2, '1': h1}, {}
        for s in '654321':
            if s != '6':
                hd = self._up(hd, 2)
            hd = self._stage(torch.cat([hd, skips[s]], 1), [(f'conv{s}d_{p}', f'bn{s}d_{p}') for p in '1m2'])
            feats[s] = hd
        scale = {'b': 32, '6': 32, '5': 16, '4': 8, '3': 4, '2': 2, '1': 1}
        side = {'b': self.outconvb(hbg)}
        for s in '654321':
            side[s] = getattr(self, f'outconv{s}')(feats[s])
        side = {k: (v if scale[k] == 1 else self._up(v, scale[k])) for k, v in side.items()}
        r, d1 = self.refunet, side['1']
        h = r.conv0(d1)
        enc = []
        for i in range(1, 5):
            h = F.relu(getattr(r, f'bn{i}')(getattr(r, f'conv{i}')(h)))
            enc.append(h)
            h = pool(h)
        h = F.relu(r.bn5(r.conv5(h)))
        for i, skip in zip((4, 3, 2, 1), reversed(enc)):
            h = F.relu(getattr(r, f'bn_d{i}')(getattr(r, f'conv_d{i}')(torch.cat([self._up(h, 2), skip], 1))))
        refined = d1 + r.conv_d0(h)
        return [refined] + [side[k] for k in '123456b']


@pytest.fixture(scope='module')
def official():
    torch.manual_seed(1)
    official = _OfficialLayout().eval()
    for m in official.modules():  # non-trivial BN statistics so that a wrong mapping shows
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return official


def test_official_conversion_maps_every_key_and_matches_outputs(official):
    sd = OrderedDict((f'module.{k}', v) for k, v in official.state_dict().items())  # DataParallel prefix
    assert is_official_basnet(sd)
    converted = convert_official_basnet(sd)
    assert len(converted) == len(sd)
    ours = BASNet(encoder=dict(type='BASNetEncoder', init_cfg=None)).eval()
    missing, unexpected = ours.load_state_dict(converted, strict=False)
    assert not missing and not unexpected
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        ref = official(x)
        got = ours(x, mode='tensor')
    for r, g in zip(ref, got):
        assert torch.equal(r, g)
    with pytest.raises(ValueError, match='not official BASNet'):
        convert_official_basnet({'backbone.conv1.weight': torch.zeros(1)})


def test_converter_cli(tmp_path, official):
    import importlib.util
    from pathlib import Path
    torch.save(official.state_dict(), tmp_path / 'basnet.pth')
    path = Path(__file__).resolve().parents[3] / 'tools/model_converters/basnet_official_to_visionx.py'
    spec = importlib.util.spec_from_file_location('conv_cli', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main([str(tmp_path / 'basnet.pth'), str(tmp_path / 'out.pth')]) == 0
    ck = torch.load(tmp_path / 'out.pth', weights_only=True)
    assert torch.equal(ck['state_dict']['refine.conv_out.weight'], official.refunet.conv_d0.weight)
