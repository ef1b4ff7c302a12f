"""demo/object_cut.py and ObjectCutter: config from the checkpoint, wrong checkpoints, decompression bombs,
--exclude, renamed outputs, constant images, one error style.

The demo-level runs use a stub network (``forward_logits`` = brightness + a faint fixed ramp), so alphas are
known without a trained BASNet: bright pixels opaque, dark pixels transparent; a constant image would get
the ramp stretched to 0..255 by the min-max normalisation if it were not treated as constant.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from tests.conftest import REPO_ROOT
from tests.test_demo.conftest import TRACOCO_TINY, load_script
from visionx.apis.object_cut import DEFAULT_MAX_PIXELS, ObjectCutter, read_image
from visionx.utils import DataFormatError

object_cut = load_script('object_cut')
BASNET_CFG = REPO_ROOT / 'configs/basnet/basnet_r34_1xb4-200it_synth-duts-48.py'


class _StubSaliency(torch.nn.Module):
    """Logits ``10 * mean_rgb(x) + 0.01 * column index``: brightness decides, the ramp breaks ties."""

    def forward_logits(self, x: torch.Tensor) -> list[torch.Tensor]:
        ramp = torch.arange(x.shape[-1], dtype=x.dtype).expand(x.shape[-2], -1)
        return [10 * x.mean(1, keepdim=True) + 0.01 * ramp]


def _stub_cutter(*args, **kwargs) -> ObjectCutter:
    return ObjectCutter(model=_StubSaliency(), input_size=32, fuse_bn=False, channels_last=False)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))


def forged_png(width: int, height: int) -> bytes:
    """A ~100-byte PNG whose header declares ``width`` x ``height`` RGB pixels (one row of data follows)."""
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    row = zlib.compress(b'\x00' * (1 + 3 * min(width, 16)))
    return b'\x89PNG\r\n\x1a\n' + _png_chunk(b'IHDR', ihdr) + _png_chunk(b'IDAT', row) + _png_chunk(b'IEND', b'')


def test_bomb_header_is_refused_before_decoding(tmp_path, monkeypatch):
    """20000 x 20000 declared in a tiny file: refused from the header; neither PIL nor OpenCV decodes it."""
    import cv2
    from PIL import ImageFile
    (tmp_path / 'bomb.png').write_bytes(forged_png(20000, 20000))

    def no_decode(*args, **kwargs):
        raise AssertionError('pixels decoded')
    monkeypatch.setattr(ImageFile.ImageFile, 'load', no_decode)
    monkeypatch.setattr(cv2, 'imdecode', no_decode)
    assert DEFAULT_MAX_PIXELS == 120_000_000
    with pytest.raises(DataFormatError, match=r'bomb.png: 20000 x 20000 = 400,000,000 pixels, more than the '
                                              r'limit of 120,000,000'):
        read_image(tmp_path / 'bomb.png')


def test_max_pixels_limit(tmp_path):
    Image.fromarray(np.full((60, 100, 3), 7, np.uint8)).save(tmp_path / 'small.png')
    with pytest.raises(DataFormatError, match='100 x 60 = 6,000 pixels, more than the limit of 5,999'):
        read_image(tmp_path / 'small.png', max_pixels=5999)
    assert read_image(tmp_path / 'small.png', max_pixels=6000)[0].shape == (60, 100, 3)
    # PIL's own limit (~179 MP) does not override a larger user limit: a 15000 x 13000 header passes the
    # size check with max_pixels=0 and fails only as truncated data
    (tmp_path / 'big.png').write_bytes(forged_png(15000, 13000))
    with pytest.raises(DataFormatError, match='not a readable image'):
        read_image(tmp_path / 'big.png', max_pixels=0)


def test_constant_image_gets_an_empty_alpha():
    cutter = _stub_cutter()
    black = np.zeros((40, 50, 3), np.uint8)
    res = cutter.cut(black, background='white')
    assert res.constant and res.alpha.shape == (40, 50) and (res.alpha == 0).all()
    assert (res.composite == 255).all()  # fully transparent over white
    assert (cutter.cut(black, invert=True).alpha == 255).all()
    # a non-constant image is unaffected: bright half opaque, dark half transparent
    half = np.zeros((40, 50, 3), np.uint8)
    half[:, 25:] = 200
    res = cutter.cut_batch([half, black])
    assert not res[0].constant and res[1].constant
    assert res[0].alpha[:, :20].max() == 0 and res[0].alpha[:, 30:].min() == 255


@pytest.fixture(scope='module')
def basnet_ckpt(tmp_path_factory):
    """A structurally complete BASNet checkpoint, cheap to write: every tensor is a view of one zero buffer
    (saved once), and ``meta['cfg']`` holds the demo config with ``align_corners=True``."""
    from visionx.models.salient import BASNet
    with torch.device('meta'):
        shapes = BASNet(encoder=dict(type='BASNetEncoder', init_cfg=None)).state_dict()
    biggest = max(v.numel() for v in shapes.values())
    buffers = {torch.float32: torch.zeros(biggest), torch.int64: torch.zeros(1, dtype=torch.int64)}
    state = {k: buffers[v.dtype][:v.numel()].view(v.shape) for k, v in shapes.items()}
    cfg = Config.fromfile(str(BASNET_CFG))
    cfg.model.align_corners = True
    path = tmp_path_factory.mktemp('basnet') / 'basnet.pth'
    torch.save({'state_dict': state, 'meta': {'cfg': cfg.pretty_text}}, path)
    return path


def test_cutter_takes_the_config_from_the_checkpoint(basnet_ckpt):
    stored = ObjectCutter(basnet_ckpt, fuse_bn=False, channels_last=False)
    assert stored.model.align_corners is True  # from meta['cfg']
    given = ObjectCutter(basnet_ckpt, fuse_bn=False, channels_last=False, config=BASNET_CFG)
    assert given.model.align_corners is False  # --config wins


@pytest.mark.parametrize('kind, config, message', [
    ('linear', None, 'is not a BASNet checkpoint'),
    ('linear', BASNET_CFG, 'is not a BASNet checkpoint'),
    ('tracoco', None, 'describes a TraCoCo model; object cut needs BASNet'),
    ('tracoco', BASNET_CFG, 'is not a BASNet checkpoint'),
    ('basnet', TRACOCO_TINY, 'describes a TraCoCo model; object cut needs BASNet'),
])
def test_wrong_checkpoints_are_refused(kind, config, message, foreign_checkpoints, basnet_ckpt, tmp_path,
                                       run_cli):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / 'a.png')
    ckpt = basnet_ckpt if kind == 'basnet' else foreign_checkpoints[kind]
    argv = [tmp_path / 'a.png', '--checkpoint', ckpt, '--out-dir', tmp_path / 'out', '--device', 'cpu']
    code, _, err = run_cli(object_cut, argv + (['--config', config] if config else []))
    assert code == 2 and err.startswith('error: ') and message in err and 'Traceback' not in err
    assert not (tmp_path / 'out').exists()


def test_out_dir_that_is_a_file_is_refused_before_the_checkpoint(tmp_path, run_cli):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / 'a.png')
    (tmp_path / 'taken').write_text('')
    code, _, err = run_cli(object_cut, [tmp_path / 'a.png', '--checkpoint', tmp_path / 'absent.pth',
                                        '--out-dir', tmp_path / 'taken', '--device', 'cpu'])
    assert code == 2 and f'--out-dir {tmp_path / "taken"}: {tmp_path / "taken"} is a file' in err


def test_exclude_renamed_bombs_and_constant_images(tmp_path, run_cli, monkeypatch):
    monkeypatch.setattr(object_cut, 'ObjectCutter', _stub_cutter)
    photos, more = tmp_path / 'photos', tmp_path / 'more'
    photos.mkdir()
    more.mkdir()
    img = np.zeros((20, 24, 3), np.uint8)  # 480 pixels
    img[:, 12:] = 220
    Image.fromarray(img).save(photos / 'cat.png')
    Image.fromarray(img[..., 0]).save(photos / 'cat_mask.png')  # a mask next to the photos
    Image.fromarray(img).save(more / 'cat.png')  # same name in another folder: renamed cat_1.png
    Image.fromarray(np.zeros((20, 24, 3), np.uint8)).save(photos / 'black.png')
    (photos / 'bomb.png').write_bytes(forged_png(20000, 20000))
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(photos / 'wide.png')  # 1,200 pixels: over 1000
    Image.fromarray(img[:, 2:22]).save(photos / 'ok.png')  # 400 pixels
    out = tmp_path / 'out'
    code, stdout, err = run_cli(object_cut, [photos, more, '--checkpoint', tmp_path / 'unused.pth', '--out-dir',
                                             out, '--exclude', '*_mask.png', '--max-pixels', 1000,
                                             '--threads', 1])
    torch.set_num_threads(2)
    assert code == 1  # the bomb and the too-wide image failed
    assert sorted(p.name for p in out.iterdir()) == ['black.png', 'cat.png', 'cat_1.png', 'ok.png']
    assert '4 written, 2 failed, 0 skipped, 1 excluded' in stdout
    assert '1 output(s) renamed' in stdout and '1 image(s) of a single colour' in stdout
    assert 'bomb.png: 20000 x 20000 = 400,000,000 pixels, more than the limit of 1,000' in stdout
    assert 'wide.png: 40 x 30 = 1,200 pixels' in stdout
    assert (np.asarray(Image.open(out / 'black.png'))[..., 3] == 0).all()
    alpha = np.asarray(Image.open(out / 'cat_1.png'))[..., 3]
    assert alpha[:, :8].max() == 0 and alpha[:, 16:].min() == 255


def test_bad_options_are_refused_before_anything(tmp_path, run_cli):
    for extra, message in [(['--batch-size', 0], '--batch-size must be >= 1'),
                           (['--max-pixels', -1], '--max-pixels must be >= 0'),
                           (['--background', 'not-a-colour'], 'neither an image file nor a colour'),
                           (['--threads', 0], '--threads must be >= 1')]:
        code, _, err = run_cli(object_cut, [tmp_path, '--checkpoint', tmp_path / 'absent.pth', '--out-dir',
                                            tmp_path / 'out', *extra])
        assert code == 2 and message in err, err
    assert list(tmp_path.iterdir()) == []
