"""BACS replay through the engine (METHODS.md B§5.2.3, §6; official ``loss/bacs_loss.py`` ``on_train_end``,
``training/buffer.py``): autocontrast and the sampler's normalisation by hand; a tiny 3-step task writes the
buffers (what they hold, checked against the data files and the step checkpoints); resuming inside a step
replays the same batches; a damaged or missing buffer stops step 1 and is never re-created."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tests.conftest import REPO_ROOT
from visionx.datasets.ciss.replay import ReplayBuffer
from visionx.datasets.ciss.synthetic import write_voc_layout
from visionx.engine.hooks.bacs_replay import ReplaySampler, autocontrast
from visionx.registry import DATASETS, MODELS
from visionx.utils.errors import ConfigError, DataFormatError, UserFileNotFoundError

CONFIG = REPO_ROOT / 'configs/ciss/bacs_deeplabv3-tiny_1xb8-300it_demo-voc-3-2-2-overlap.py'
STEP_CLASSES = [{0, 1, 2, 3}, {4, 5}, {6, 7}]  # the demo task's model ids (background with step 0)
CAPACITY = 8
RNG_META = 'bacs_replay_generator_rank0'


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Tiny networks: one intra-op thread is ~100x faster than two on a loaded 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# 1. autocontrast and the sampler ------------------------------------------------------------------------------
def test_autocontrast_by_hand():
    image = torch.tensor([[[[10, 20, 30]], [[50, 50, 50]], [[5, 9, 7]]]], dtype=torch.uint8)  # (1, 3, 1, 3)
    out = autocontrast(image, torch.tensor([True]))
    # (x - min) * 255 / (max - min) per channel; a flat channel is left as it is
    expected = torch.tensor([[[[0., 127.5, 255.]], [[50., 50., 50.]], [[0., 255., 127.5]]]])
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(autocontrast(image, torch.tensor([False])), image.float())
    # per image: the second image has its own range and is left alone where apply is False
    other = torch.tensor([[[[0, 0, 128]], [[1, 2, 3]], [[200, 100, 150]]]], dtype=torch.uint8)
    both = torch.cat([image, other])
    torch.testing.assert_close(autocontrast(both, torch.tensor([True, True])),
                               torch.cat([expected, torch.tensor([[[[0., 0., 255.]], [[0., 127.5, 255.]],
                                                                   [[255., 0., 127.5]]]])]))
    torch.testing.assert_close(autocontrast(both, torch.tensor([True, False])), torch.cat([expected, other.float()]))


class OneImageBuffer:
    """A stand-in for ReplayBuffer.sample: always the same 1 x 3 x 1 x 3 sample."""

    def sample(self, n, generator):
        images = torch.tensor([[[[10, 20, 30]], [[50, 50, 50]], [[5, 9, 7]]]], dtype=torch.uint8)
        return dict(images=images, labels=torch.tensor([[[0, 1, 255]]], dtype=torch.uint8),
                    logits=torch.ones(1, 4, 1, 1, dtype=torch.float64),
                    num_classes=torch.tensor([4], dtype=torch.int16))


def test_sampler_normalises_with_the_preprocessor_statistics():
    mean, std = torch.tensor([10., 20., 30.]), torch.tensor([2., 4., 5.])
    plain = ReplaySampler(OneImageBuffer(), 1, mean, std, torch.Generator(), autocontrast_prob=0.0)
    batch = plain.next_batch('cpu')
    # (x - mean) / std: [0, 5, 10] / 2, [30, 30, 30] / 4, [-25, -21, -23] / 5
    torch.testing.assert_close(batch['inputs'], torch.tensor([[[[0., 5., 10.]], [[7.5, 7.5, 7.5]],
                                                               [[-5., -4.2, -4.6]]]]))
    assert batch['labels'].dtype == torch.long and batch['labels'].tolist() == [[[0, 1, 255]]]
    assert batch['logits'].dtype == torch.float32 and batch['num_classes'].dtype == torch.long
    stretched = ReplaySampler(OneImageBuffer(), 1, mean, std, torch.Generator(), autocontrast_prob=1.0)
    # autocontrast first (values above), then the normalisation
    torch.testing.assert_close(stretched.next_batch('cpu')['inputs'],
                               torch.tensor([[[[-5., 58.75, 122.5]], [[7.5, 7.5, 7.5]], [[-6., 45., 19.5]]]]))


# the tiny task ------------------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return write_voc_layout(tmp_path_factory.mktemp('voc') / 'VOC2012', list(range(1, 8)), n_train=10, n_val=3,
                            size=32, seed=1)


def make_cfg(data: Path, work_dir: Path, **ciss) -> Config:
    """The BACS demo config at the widths of tests/test_engine/test_incremental.py: 32 px images and crops
    (the crop keeps the whole image), batch 2, 2 iterations at step 0 and 4 later, checkpoints every 2."""
    cfg = Config.fromfile(str(CONFIG))
    for key in ('train_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = str(data)
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.dataset.pipeline[2].crop_size = (32, 32)
    cfg.model.data_preprocessor.size = (32, 32)
    cfg.model.backbone.update(stem_channels=8, base_channels=8)
    cfg.model.decode_head.update(in_channels=64, channels=8)
    cfg.model.detector_in_channels = 64
    cfg.custom_hooks[0].update(capacity=CAPACITY, batch_size=2)
    cfg.train_cfg.max_iters = 2
    cfg.param_scheduler[0].end = 2
    cfg.default_hooks.checkpoint.update(interval=2, max_keep_ckpts=3)
    cfg.default_hooks.logger.interval = 1
    cfg.ciss.later_steps = {'train_cfg.max_iters': 4, 'param_scheduler.0.end': 4,
                            'optim_wrapper.optimizer.lr': 0.005}
    cfg.ciss.update(ciss)
    cfg.work_dir = str(work_dir)
    cfg.launcher = 'none'
    return cfg


def run(cfg: Config):
    from visionx.engine import build_runner
    return build_runner(cfg).train()


def checkpoint(path) -> dict:
    return torch.load(path, map_location='cpu')


@pytest.fixture(scope='module')
def full_run(data, tmp_path_factory):
    work = tmp_path_factory.mktemp('bacs')
    rows = run(make_cfg(data, work))
    return work, rows


def step_items(data: Path, step: int) -> list[dict]:
    """The step's training images (RGB, (3, H, W) uint8) and step labels, in dataset order, without the
    random flip (the 32 px crop of a 32 px image is the image)."""
    cfg = make_cfg(data, data)
    ds = dict(cfg.train_dataloader.dataset.to_dict(), step=step,
              pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')])
    init_default_scope('visionx')
    dataset = DATASETS.build(ds)
    out = []
    for i in range(len(dataset)):
        item = dataset[i]
        out.append(dict(image=torch.from_numpy(item['img'][..., ::-1].copy()).permute(2, 0, 1),
                        labels=torch.from_numpy(item['gt_seg_map'].astype(np.int64))))
    return out


def images_holding(data: Path, ids: set[int]) -> int:
    """Training images whose mask holds one of the dataset ids (the overlap filter), read from the PNGs."""
    from PIL import Image
    names = (data / 'ImageSets/Segmentation/train_aug.txt').read_text().split()
    return sum(bool(set(np.unique(np.array(Image.open(data / 'SegmentationClassAug' / f'{n}.png')))) & ids)
               for n in names)


def match(sample_image, sample_labels, items) -> int:
    """Index of the item the stored sample is (as is or flipped left-right; image and labels together)."""
    for i, item in enumerate(items):
        for flip in (False, True):
            image, labels = item['image'], item['labels']
            if flip:
                image, labels = image.flip(-1), labels.flip(-1)
            if torch.equal(sample_image, image) and torch.equal(sample_labels, labels):
                return i
    raise AssertionError('a stored sample is none of the step\'s training crops')


def step_model(cfg: Config, step: int, ckpt: Path):
    """The model of ``step`` with the weights of its final checkpoint, in eval mode."""
    model_cfg = dict(cfg.model.to_dict(), classes_per_step=[4, 2, 2][:step + 1])
    init_default_scope('visionx')
    model = MODELS.build(model_cfg)
    model.load_state_dict(checkpoint(ckpt)['state_dict'])
    return model.eval()


def check_entries(buf: ReplayBuffer, slots: list[int], model, pre_mean, pre_std) -> None:
    """Stored logits / seen map / importance = the step's final model on the re-normalised stored crop."""
    batch = buf.gather(slots)
    inputs = (batch['images'].float() - pre_mean.view(1, 3, 1, 1)) / pre_std.view(1, 3, 1, 1)
    with torch.no_grad():
        raw, _, g = model.forward_bacs(inputs)
        seen = torch.sigmoid(model.detector.seen_logits(g, model.step, (32, 32)))[:, 0]
    c = raw.shape[1]
    torch.testing.assert_close(batch['logits'][:, :c], raw, rtol=1e-4, atol=1e-4)
    assert (batch['logits'][:, c:] == 0).all() and (batch['num_classes'] == c).all()
    torch.testing.assert_close(batch['seen'], seen, rtol=0, atol=1e-3)  # stored as float16
    # importance = -mean over all H*W pixels of the CE, background and ignored pixels counting 0
    labels = batch['labels']
    ce = F.cross_entropy(F.interpolate(raw, size=(32, 32), mode='bilinear', align_corners=False),
                         labels.clamp(max=c - 1), reduction='none')
    ce = torch.where((labels == 0) | (labels == 255), torch.zeros_like(ce), ce)
    torch.testing.assert_close(batch['importance'], -ce.flatten(1).mean(1), rtol=1e-4, atol=1e-5)


# 2. the buffers of a 3-step run -------------------------------------------------------------------------------
def test_three_steps_write_the_buffers(full_run, data):
    work, rows = full_run
    assert [r['step'] for r in rows] == [0, 1, 2]
    assert (work / 'ciss_results.md').is_file()
    assert [s['step'] for s in json.loads((work / 'ciss_results.json').read_text())['steps']] == [0, 1, 2]
    assert not (work / 'step_2' / 'replay_buffer').exists()  # the last step writes none
    b0 = ReplayBuffer.load(work / 'step_0' / 'replay_buffer')
    b1 = ReplayBuffer.load(work / 'step_1' / 'replay_buffer')

    # how many crops were offered: the training images of each step (overlap filter, from the masks)
    n0, n1 = images_holding(data, {1, 2, 3}), images_holding(data, {4, 5})
    assert 0 < n0 < CAPACITY < n0 + n1  # the test needs step 1 to go through the reservoir
    meta0 = json.loads((work / 'step_0' / 'replay_buffer' / 'meta.json').read_text())
    meta1 = json.loads((work / 'step_1' / 'replay_buffer' / 'meta.json').read_text())
    assert (meta0['num_seen'], len(b0)) == (n0, n0) and (meta1['num_seen'], len(b1)) == (n0 + n1, CAPACITY)
    assert b0.image_shape == (3, 32, 32) and b0.logit_shape == (8, 4, 4)  # all 8 classes, stride 8 at 32 px

    # step 0: slots fill in dataset order with the uint8 crops and step labels the model was trained on
    items = [step_items(data, 0), step_items(data, 1)]
    s0 = b0.gather(range(len(b0)))
    assert s0['images'].dtype == torch.uint8 and s0['task'].tolist() == [0] * n0
    assert [match(s0['images'][k], s0['labels'][k], items[0]) for k in range(n0)] == list(range(n0))
    # step 1: old samples carried over unchanged, new ones hold only step-1 labels
    s1 = b1.gather(range(len(b1)))
    assert set(s1['task'].tolist()) == {0, 1}
    for k in range(len(b1)):
        task = int(s1['task'][k])
        assert set(s1['labels'][k].unique().tolist()) <= STEP_CLASSES[task] | {0, 255}
        match(s1['images'][k], s1['labels'][k], items[task])
        if task == 0:
            old = [j for j in range(n0) if torch.equal(s0['images'][j], s1['images'][k])]
            assert len(old) == 1
            for key in ('labels', 'logits', 'num_classes', 'seen', 'importance'):
                assert torch.equal(s1[key][k], s0[key][old[0]]), key

    cfg = make_cfg(data, work)
    pre = cfg.model.data_preprocessor
    mean, std = torch.tensor(pre.mean), torch.tensor(pre.std)
    check_entries(b0, list(range(n0)), step_model(cfg, 0, work / 'step_0' / 'iter_2.pth'), mean, std)
    new = [k for k in range(len(b1)) if s1['task'][k] == 1]
    check_entries(b1, new, step_model(cfg, 1, work / 'step_1' / 'iter_4.pth'), mean, std)

    # the draw generator is checkpointed from step 1 on: seeded with seed + rank = 0, one replay batch
    # (randperm over the filled slots, then the autocontrast coins) per iteration
    assert RNG_META not in checkpoint(work / 'step_0' / 'iter_2.pth').get('meta', {})
    g = torch.Generator().manual_seed(0)
    for _ in range(2):
        torch.randperm(n0, generator=g)
        torch.rand(2, generator=g)
    assert torch.equal(checkpoint(work / 'step_1' / 'iter_2.pth')['meta'][RNG_META], g.get_state())


# 3. exact resume inside step 1 --------------------------------------------------------------------------------
def test_resume_inside_a_step_replays_the_same_batches(full_run, data, tmp_path):
    ref, _ = full_run
    work = tmp_path / 'work'
    shutil.copytree(ref, work)
    step1 = work / 'step_1'
    for name in ('ciss_step.json', 'iter_4.pth'):
        (step1 / name).unlink()
    shutil.rmtree(step1 / 'replay_buffer')
    shutil.rmtree(work / 'step_2')
    (step1 / 'last_checkpoint').write_text(str(step1 / 'iter_2.pth'))
    cfg = make_cfg(data, work, end_step=1)
    cfg.resume = True
    rows = run(cfg)
    assert [r['step'] for r in rows] == [0, 1]
    a, b = checkpoint(ref / 'step_1' / 'iter_4.pth'), checkpoint(step1 / 'iter_4.pth')
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for k, v in a['state_dict'].items():
        assert torch.equal(b['state_dict'][k], v), k
    assert torch.equal(b['meta'][RNG_META], a['meta'][RNG_META])
    # the end-of-step fill of the resumed run writes the same buffer
    arrays = [json.loads((d / 'step_1' / 'replay_buffer' / 'meta.json').read_text())['arrays'] for d in (ref, work)]
    assert arrays[0] == arrays[1]


# 4. a damaged or missing buffer -------------------------------------------------------------------------------
def test_corrupted_or_missing_buffer_stops_step1(full_run, data, tmp_path):
    ref, _ = full_run
    prev = tmp_path / 'prev' / 'step_0'
    shutil.copytree(ref / 'step_0', prev)
    buffer = prev / 'replay_buffer'
    logits = buffer / 'logits.npy'
    raw = bytearray(logits.read_bytes())
    raw[-8:] = bytes(255 - v for v in raw[-8:])
    logits.write_bytes(bytes(raw))
    before = {p.name: p.read_bytes() for p in buffer.iterdir()}

    def step1():
        return run(make_cfg(data, tmp_path / 'w', start_step=1, end_step=1,
                            start_checkpoint=str(prev / 'iter_2.pth')))

    with pytest.raises(DataFormatError, match=re.escape(str(logits))):
        step1()
    assert {p.name: p.read_bytes() for p in buffer.iterdir()} == before  # left as it was: never re-written
    assert not list((tmp_path / 'w' / 'step_1').glob('iter_*.pth'))
    assert not (tmp_path / 'w' / 'step_1' / 'replay_buffer').exists()

    shutil.rmtree(buffer)
    with pytest.raises(UserFileNotFoundError, match=re.escape(str(buffer))):
        step1()
    assert not buffer.exists() and not (tmp_path / 'w' / 'step_1' / 'replay_buffer').exists()


def test_capacity_and_detector_schedule_that_would_be_ignored_are_refused(full_run, data, tmp_path):
    """A later step keeps filling the loaded buffer at its own capacity, and detector_loss_epochs=None needs an
    epoch-based loop: a run that sets either differently stops before training."""
    ref, _ = full_run
    cfg = make_cfg(data, tmp_path / 'w', start_step=1, end_step=1, start_checkpoint=str(ref / 'step_0' / 'iter_2.pth'))
    cfg.custom_hooks[0].capacity = CAPACITY + 1
    with pytest.raises(ConfigError, match=f'holds {CAPACITY} samples but BACSReplayHook.capacity is {CAPACITY + 1}'):
        run(cfg)
    cfg = make_cfg(data, tmp_path / 'w2', end_step=0)
    cfg.model.detector_loss_epochs = None
    with pytest.raises(ConfigError, match='detector_loss_epochs=None .* counts iterations'):
        run(cfg)
    for work in ('w', 'w2'):
        assert not list((tmp_path / work).rglob('iter_*.pth'))
