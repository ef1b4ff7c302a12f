"""Object cut: image reading edge cases, the ObjectCutter API and the demo/object_cut.py script."""
import copy
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from visionx.apis.object_cut import (ObjectCutter, load_basnet_weights, objectcut_postprocess, parse_background,
                                     read_image)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def basnet():
    from visionx.models.salient import BASNet
    torch.manual_seed(0)
    return BASNet(encoder=dict(type='BASNetEncoder', init_cfg=None)).eval()


@pytest.fixture(scope='module')
def cutter(basnet):
    return ObjectCutter(model=copy.deepcopy(basnet), input_size=32)


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp('imgs')
    rng = np.random.default_rng(0)
    rgb = (rng.random((30, 40, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(d / 'a.jpg')
    Image.fromarray(rgb).save(d / 'b.webp')
    Image.fromarray(rgb).save(d / 'c.bmp')
    Image.fromarray(rgb).save(d / 'd.tif')
    Image.fromarray(rgb[..., 0]).save(d / 'grey.png')
    Image.fromarray(np.dstack([rgb, rgb[..., 1]])).save(d / 'rgba.png')
    Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(d / 'deep16.png')
    Image.fromarray(rgb[:1, :1]).save(d / 'one.png')
    im = Image.fromarray(rgb)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    im.save(d / 'exif.jpg', exif=exif)
    (d / 'empty.jpg').write_bytes(b'')
    data = (d / 'a.jpg').read_bytes()
    (d / 'trunc.jpg').write_bytes(data[:len(data) // 2])
    (d / 'fake.png').write_text('not an image')
    (d / 'notes.txt').write_text('hello')
    return d


def test_read_image_formats(images):
    a, alpha = read_image(images / 'a.jpg')
    assert a.shape == (30, 40, 3) and a.dtype == np.uint8 and alpha is None
    for name in ('b.webp', 'c.bmp', 'd.tif', 'grey.png'):
        assert read_image(images / name)[0].shape == (30, 40, 3)
    rgb, alpha = read_image(images / 'rgba.png')
    assert alpha is not None and alpha.shape == (30, 40)
    deep, _ = read_image(images / 'deep16.png')
    ref, _ = read_image(images / 'grey.png')
    assert np.abs(deep.astype(int) - ref.astype(int)).max() <= 1  # 16-bit scaled to 8-bit
    assert read_image(images / 'exif.jpg')[0].shape == (40, 30, 3)  # EXIF orientation applied
    with pytest.raises(ValueError, match='empty file'):
        read_image(images / 'empty.jpg')
    with pytest.raises(ValueError, match='truncated'):
        read_image(images / 'trunc.jpg')
    with pytest.raises(ValueError, match='not a readable image'):
        read_image(images / 'fake.png')
    with pytest.raises(FileNotFoundError):
        read_image(images / 'missing.jpg')


def test_cutter_outputs_full_resolution(cutter):
    rgb = (np.random.default_rng(1).random((300, 200, 3)) * 255).astype(np.uint8)
    res = cutter.cut(rgb, background='white')
    assert res.rgba.shape == (300, 200, 4) and res.rgba.dtype == np.uint8
    assert np.array_equal(res.rgba[..., :3], rgb) and res.alpha.max() > res.alpha.min()
    a = res.alpha[..., None] / 255.0
    np.testing.assert_allclose(res.composite, rgb * a + 255 * (1 - a), atol=0.51)
    inv = cutter.cut(rgb, invert=True)
    assert np.array_equal(inv.alpha, 255 - res.alpha)
    batch = list(cutter.cut_many([rgb, rgb[:50, :70]], batch_size=2))
    assert batch[1].rgba.shape == (50, 70, 4)
    assert np.abs(batch[0].alpha.astype(int) - res.alpha.astype(int)).max() <= 1


def test_huge_image_alpha_is_upsampled_not_inferred():
    prob = np.linspace(0, 1, 32 * 32).reshape(32, 32)
    alpha = ObjectCutter.alpha_from_map(prob, (3000, 4000))
    assert alpha.shape == (3000, 4000) and alpha.dtype == np.uint8
    # the map's 0 and 1 corners stay 0 and 255; it rises along every row and down the first column
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 255
    assert (np.diff(alpha.astype(int), axis=1) >= 0).all() and (np.diff(alpha[:, 0].astype(int)) >= 0).all()


def test_fused_bn_matches_unfused(basnet, cutter):
    x = [(np.random.default_rng(2).random((40, 40, 3)) * 255).astype(np.uint8)]
    fused = cutter.predict(x)[0]
    plain = ObjectCutter(model=basnet, input_size=32, fuse_bn=False).predict(x)[0]
    assert not any(isinstance(m, torch.nn.Identity) for m in basnet.modules())  # left unfused
    np.testing.assert_allclose(fused, plain, atol=1e-3)


def test_postprocess_and_background():
    m = np.zeros((32, 32), np.uint8)
    m[8:24, 8:24] = 200
    m[0, 0] = 3  # below the hard threshold of 5
    out = objectcut_postprocess(m)
    assert out[16, 16] == 255 and out[0, 0] == 0 and out.dtype == np.uint8
    assert parse_background('#ff0000', (2, 3))[1, 2].tolist() == [255, 0, 0]
    assert parse_background('0,128,255', (1, 1))[0, 0].tolist() == [0, 128, 255]
    with pytest.raises(ValueError, match='background'):
        parse_background('not-a-colour', (1, 1))


def test_load_weights_rejects_other_models(tmp_path, basnet):
    torch.save({'state_dict': {'backbone.conv.weight': torch.zeros(1)}}, tmp_path / 'other.pth')
    with pytest.raises(ValueError, match='not a BASNet checkpoint'):
        load_basnet_weights(copy.deepcopy(basnet), tmp_path / 'other.pth')
    with pytest.raises(FileNotFoundError):
        load_basnet_weights(basnet, tmp_path / 'nope.pth')


@pytest.mark.parametrize('override, ok', [
    (dict(), True),  # the shipped config: ImageNet statistics on the 0..255 scale, BGR -> RGB
    (dict(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0]), False),
    (dict(bgr_to_rgb=False), False),
])
def test_checkpoint_trained_with_other_normalisation_is_refused(tmp_path, basnet, override, ok):
    """ObjectCutter normalises as the official test (RGB, x / max, ImageNet statistics): a config whose data
    preprocessor says otherwise is refused instead of being fed wrongly normalised images."""
    from visionx.utils import ConfigError
    cfg_path = tmp_path / 'cfg.py'
    cfg_path.write_text(f"_base_ = ['{REPO / 'configs/basnet/basnet_r34_1xb4-200it_synth-duts-48.py'}']\n"
                        f'model = dict(data_preprocessor=dict({", ".join(f"{k}={v!r}" for k, v in override.items())}))\n')
    ckpt = tmp_path / 'w.pth'
    torch.save({'state_dict': basnet.state_dict()}, ckpt)
    if ok:
        assert ObjectCutter(checkpoint=ckpt, config=cfg_path, input_size=32).predict([np.zeros((8, 8, 3), np.uint8)])
    else:
        with pytest.raises(ConfigError, match='data_preprocessor mean='):
            ObjectCutter(checkpoint=ckpt, config=cfg_path, input_size=32)


def _script():
    spec = importlib.util.spec_from_file_location('object_cut_script', REPO / 'demo/object_cut.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_script_end_to_end_with_bad_inputs(tmp_path, images, basnet, capsys):
    ckpt = tmp_path / 'basnet.pth'
    torch.save({'state_dict': basnet.state_dict()}, ckpt)
    out = tmp_path / 'out'
    script = _script()
    rc = script.main([str(images), str(images / 'a.jpg'), str(tmp_path / 'nothing*.png'), '--checkpoint',
                      str(ckpt), '--out-dir', str(out), '--size', '32', '--save-mask', '--background', 'black',
                      '--batch-size', '3'])
    captured = capsys.readouterr()
    assert rc == 1  # some files failed
    good = ['a', 'b', 'c', 'd', 'grey', 'rgba', 'deep16', 'one', 'exif']
    for name in good:
        rgba = Image.open(out / f'{name}.png')
        assert rgba.mode == 'RGBA'
        assert (out / f'{name}_mask.png').exists() and (out / f'{name}_composite.png').exists()
    assert Image.open(out / 'exif.png').size == (30, 40) and Image.open(out / 'one.png').size == (1, 1)
    assert not (out / 'a_1.png').exists()  # a.jpg given twice is processed once
    for bad in ('empty', 'trunc', 'fake'):
        assert not (out / f'{bad}.png').exists()
        assert bad in captured.out
    assert 'notes.txt' in captured.err and 'nothing*.png' in captured.err
    assert '9 written, 4 failed, 1 skipped' in captured.out
    assert not [p for p in out.iterdir() if p.name.startswith('.')]  # no temporary leftovers
    # only good files -> exit code 0; a checkpoint of another model -> 2 before any work
    assert script.main([str(images / 'a.jpg'), '--checkpoint', str(ckpt), '--out-dir', str(tmp_path / 'o2'),
                        '--size', '32']) == 0
    torch.save({'state_dict': {'conv.weight': torch.zeros(1)}}, tmp_path / 'other.pth')
    from visionx.utils.cli import run_tool
    with pytest.raises(SystemExit) as exc:
        run_tool(lambda: script.main([str(images / 'a.jpg'), '--checkpoint', str(tmp_path / 'other.pth'),
                                      '--out-dir', str(tmp_path / 'o3')]))
    assert exc.value.code == 2 and 'not a BASNet checkpoint' in capsys.readouterr().err
    assert not (tmp_path / 'o3').exists()
