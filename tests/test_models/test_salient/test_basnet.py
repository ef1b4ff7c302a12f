"""BASNet network: exact parameter count, output layout, ImageNet init (conversion: test_converters.py)."""
import copy

import pytest
import torch

from visionx.models.salient import BASNet, BASNetEncoder


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
    assert torch.allclose(outs[0], model.refine(coarse))
    # refined = coarse + residual: with the residual's last conv zeroed the refinement returns its input
    zeroed = copy.deepcopy(model)
    with torch.no_grad():
        zeroed.refine.conv_out.weight.zero_()
        zeroed.refine.conv_out.bias.zero_()
        outs = zeroed(x, mode='tensor')
    assert torch.allclose(outs[0], outs[1])


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
