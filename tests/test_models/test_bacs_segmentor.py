"""BACS segmentor and background-shift detector (METHODS.md B§5.1-5.2, §7; official ``networks/bg_detector.py``,
``loss/prototypes.py``, ``loss/base_loss.py``, ``loss/bacs_loss.py``): prototype running means, seen maps and
the detector weight by hand; which parameters each loss trains at step 0 and step 1; what stays frozen through
step-1 training; the replay requirement; prototypes in the state dict; the token-decoder variant."""
from __future__ import annotations

import copy
import math
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from tests.conftest import REPO_ROOT
from visionx.models.ciss.bacs import BgShiftDetector
from visionx.registry import MODELS
from visionx.utils.errors import ConfigError

CONFIG = REPO_ROOT / 'configs/ciss/bacs_deeplabv3-tiny_1xb8-300it_demo-voc-3-2-2-overlap.py'
TOKEN_MODEL = REPO_ROOT / 'configs/_base_/models/bacs-transformer_r101-d16.py'
LOSS_KEYS = {'loss_ce', 'loss_det', 'loss_kd', 'loss_der', 'loss_derpp'}


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Tiny networks: one intra-op thread is ~100x faster than two on a loaded 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True, scope='module')
def message_hub():
    """A fresh current MessageHub at iteration 0 of 100: the detector weight is ~1, whatever ran before."""
    hub = MessageHub.get_instance(f'test_bacs_segmentor_{uuid.uuid4().hex}')
    hub.update_info('iter', 0)
    hub.update_info('max_iters', 100)
    return hub


def sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# 1. prototypes -----------------------------------------------------------------------------------------------
def test_update_prototypes_running_mean_by_hand():
    """Two updates of a D = 2 embedding on 2 x 2 maps; labels (4 x 4) nearest-downsampled = their even pixels."""
    det = BgShiftDetector(in_channels=8, num_tasks=2, reduction=4)
    assert det.embed_channels == 2 and det.prototypes.shape == (2, 2) and det.counts.tolist() == [0, 0]
    class_to_task = torch.tensor([-1, 0, 0, 1, 1])  # classes_per_step [3, 2]: 1, 2 -> task 0; 3, 4 -> task 1

    def labels_from(*down: list[list[int]]) -> torch.Tensor:
        """(B, 4, 4) labels whose even pixels are ``down`` and whose odd pixels hold a distractor class."""
        out = torch.full((len(down), 4, 4), 4, dtype=torch.long)  # odd rows / columns: class 4 (task 1)
        out[:, 0::2, 0::2] = torch.tensor(down)
        return out

    # update 1: sample 0 = [[1, bg], [3, ignore]], sample 1 = [[2, 4], [bg, 1]]
    labels = labels_from([[1, 0], [3, 255]], [[2, 4], [0, 1]])
    g = torch.tensor([[[[1., 100.], [3., 50.]], [[2., 100.], [-1., 50.]]],
                      [[[4., 5.], [-100., 1.]], [[0., 7.], [-100., 1.]]]])  # (B, D, 2, 2)
    det.update_prototypes(g, labels, class_to_task)
    # task 0: [1, 2], [4, 0], [1, 1] -> mean [2, 1]; task 1: [3, -1], [5, 7] -> mean [4, 3]
    torch.testing.assert_close(det.prototypes, torch.tensor([[2., 1.], [4., 3.]]))
    assert det.counts.tolist() == [3, 2]

    # update 2 (one image, task 1 only): [1, 1] and [4, -2] join the 2 earlier pixels of task 1
    labels = labels_from([[4, 3], [0, 255]])
    g = torch.tensor([[[[1., 4.], [9., 9.]], [[1., -2.], [9., 9.]]]])
    det.update_prototypes(g, labels, class_to_task)
    # task 1: (2 * [4, 3] + [1, 1] + [4, -2]) / 4 = [13 / 4, 5 / 4]; task 0 untouched
    torch.testing.assert_close(det.prototypes, torch.tensor([[2., 1.], [3.25, 1.25]]))
    assert det.counts.tolist() == [3, 4]

    # only background / ignore: nothing moves
    det.update_prototypes(g, labels_from([[0, 255], [0, 0]]), class_to_task)
    torch.testing.assert_close(det.prototypes, torch.tensor([[2., 1.], [3.25, 1.25]]))
    assert det.counts.tolist() == [3, 4]


# 2. seen maps ------------------------------------------------------------------------------------------------
def hand_detector() -> tuple[BgShiftDetector, torch.Tensor]:
    """Two heads with hand-set weights, prototypes mu_0 = [0, 0], mu_1 = [ln 3, 0] and a (1, 2, 1, 2) g with
    pixels a = [0, ln 3], b = [ln 3, -ln 3] (sigmoids: mu_0 [1/2, 1/2], mu_1 [3/4, 1/2], a [1/2, 3/4],
    b [3/4, 1/4])."""
    det = BgShiftDetector(in_channels=8, num_tasks=2, reduction=4)
    ln3 = math.log(3)
    with torch.no_grad():
        det.prototypes.copy_(torch.tensor([[0., 0.], [ln3, 0.]]))
        det.heads[0].weight.copy_(torch.tensor([2., -4.]).view(1, 2, 1, 1))
        det.heads[0].bias.fill_(1.)
        det.heads[1].weight.copy_(torch.tensor([1., 2.]).view(1, 2, 1, 1))
        det.heads[1].bias.fill_(-0.5)
    g = torch.tensor([[[[0., ln3]], [[ln3, -ln3]]]])
    return det, g


def test_seen_logits_and_probs_by_hand():
    det, g = hand_detector()
    # head 0: d_a = [0, 1/4] -> 2*0 - 4/4 + 1 = 0; d_b = [1/4, 1/4] -> 1/2 - 1 + 1 = 1/2
    # head 1: d_a = [1/4, 1/4] -> 1/4 + 1/2 - 1/2 = 1/4; d_b = [0, 1/4] -> 0 + 1/2 - 1/2 = 0
    torch.testing.assert_close(det.seen_logits(g, 0, (1, 2)), torch.tensor([[[[0., 0.5]]]]))
    torch.testing.assert_close(det.seen_logits(g, 1, (1, 2)), torch.tensor([[[[0.25, 0.]]]]))
    # bilinear with align_corners=True to 3 columns: the ends kept, the middle their mean
    torch.testing.assert_close(det.seen_logits(g, 0, (1, 3)), torch.tensor([[[[0., 0.25, 0.5]]]]))
    # max over heads of the sigmoids: a from head 1, b from head 0
    torch.testing.assert_close(det.seen_probs(g, (1, 2)), torch.tensor([[[sig(0.25), sig(0.5)]]]))
    # at 3 columns: head 0 [0, 1/4, 1/2], head 1 [1/4, 1/8, 0]
    torch.testing.assert_close(det.seen_probs(g, (1, 3)), torch.tensor([[[sig(0.25), sig(0.25), sig(0.5)]]]))


def test_seen_logits_gradient_and_detach():
    """d logit / d g = w * sign(sigmoid(g) - sigmoid(mu)) * sigmoid'(g); ``detach`` cuts g off (steps >= 1)."""
    det, g = hand_detector()
    g.requires_grad_(True)
    det.seen_logits(g, 0, (1, 2)).sum().backward()
    # a: channel 0 at |.| = 0 (gradient 0); channel 1: -4 * (+1) * 3/16.  b: 2 * (+1) * 3/16, -4 * (-1) * 3/16
    torch.testing.assert_close(g.grad, torch.tensor([[[[0., 0.375]], [[-0.75, 0.75]]]]))
    g.grad = None
    det.zero_grad()
    det.seen_logits(g, 0, (1, 2), detach=True).sum().backward()
    assert g.grad is None
    torch.testing.assert_close(det.heads[0].bias.grad, torch.tensor([2.]))  # d sum / d bias = 2 pixels


def test_detector_weight_follows_the_iteration_schedule(message_hub):
    """``max(0, 1 - exp(epoch - E))`` with ``epoch = iter * E // max_iters`` (``detector_loss_epochs`` E)."""
    model = build([4])
    assert model.detector_loss_epochs == 30
    try:
        for it, epoch in ((0, 0), (50, 15), (99, 29)):
            message_hub.update_info('iter', it)
            assert model.detector_weight() == pytest.approx(1 - math.exp(epoch - 30))
        message_hub.update_info('iter', 100)
        assert model.detector_weight() == 0
    finally:
        message_hub.update_info('iter', 0)


# model helpers ------------------------------------------------------------------------------------------------
DEMO = {}


def model_cfg(classes_per_step, **kw) -> dict:
    """The demo config's BACS model with the tiny widths of tests/test_engine/test_incremental.py (32 px crops:
    the backbone output is 64 channels at 4 x 4)."""
    if not DEMO:
        DEMO.update(Config.fromfile(str(CONFIG)).model.to_dict())
    cfg = copy.deepcopy(DEMO)
    cfg['backbone'].update(stem_channels=8, base_channels=8)
    cfg['decode_head'].update(in_channels=64, channels=8)
    cfg['data_preprocessor']['size'] = (32, 32)
    cfg.update(detector_in_channels=64, classes_per_step=list(classes_per_step), **kw)
    return cfg


def build(classes_per_step, **kw):
    init_default_scope('visionx')
    torch.manual_seed(0)
    return MODELS.build(model_cfg(classes_per_step, **kw))


def samples(labels: torch.Tensor) -> list[SegDataSample]:
    return [SegDataSample(gt_sem_seg=PixelData(data=lab[None])) for lab in labels]


def inputs(seed: int, b: int = 2) -> torch.Tensor:
    return torch.randn(b, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def step0_labels() -> torch.Tensor:
    labels = torch.zeros(2, 32, 32, dtype=torch.long)
    labels[0, 0:16, 0:16] = 1
    labels[0, 16:32, 16:32] = 2
    labels[1, 8:24, 0:16] = 3
    labels[1, 24:32, :] = 255
    return labels


GRID_PIXELS_STEP0 = 4 + 4 + 4  # classes 1, 2, 3 each on 2 x 2 points of the 4 x 4 grid (rows / columns 0, 8, ..)


def step1_labels() -> torch.Tensor:
    """Step-1 training labels (old classes are background in CISS): 4 pixels of class 4 and 4 of class 5 at
    the nearest-downsampled 4 x 4 grid (rows / columns 0, 8, 16, 24), an ignored one, and class-4 pixels off
    the grid."""
    labels = torch.zeros(2, 32, 32, dtype=torch.long)
    labels[0, 0:16, 0:16] = 4          # grid (0, 0), (0, 1), (1, 0), (1, 1)
    labels[0, 24:32, 24:32] = 255      # grid (3, 3)
    labels[1, 16:32, 8:24] = 5         # grid (2, 1), (2, 2), (3, 1), (3, 2)
    labels[1, 1:8, 25:32] = 4          # off the grid: never sampled
    return labels


GRID_PIXELS_STEP1 = 8


class FakeReplay:
    """Stands in for BACSReplayHook's sampler: a fixed replay batch of old-class labels and stored logits."""

    def __init__(self, num_stored_classes: int = 4, logit_channels: int = 8) -> None:
        g = torch.Generator().manual_seed(7)
        labels = torch.zeros(2, 32, 32, dtype=torch.long)
        labels[0, :16] = 1
        labels[0, 16:, :8] = 255
        labels[1, 8:, 8:] = 3
        labels[1, :8] = 2
        self.batch = dict(inputs=torch.randn(2, 3, 32, 32, generator=g), labels=labels,
                          logits=torch.randn(2, logit_channels, 4, 4, generator=g),
                          num_classes=torch.tensor([num_stored_classes] * 2))
        self.calls = 0

    def next_batch(self, device) -> dict:
        self.calls += 1
        return {k: v.to(device) for k, v in self.batch.items()}


def saved_step0(tmp_path, **kw) -> tuple[str, dict]:
    """A step-0 checkpoint with non-trivial prototypes, counts and projector BN statistics."""
    model = build([4], **kw)
    with torch.no_grad():
        model.detector.prototypes.copy_(torch.linspace(-1, 1, model.detector.prototypes.numel()).view(1, -1))
        model.detector.counts.fill_(7)
        bn = model.detector.projector[1]
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2)
    state = copy.deepcopy(model.state_dict())
    path = tmp_path / 'step0.pth'
    torch.save(dict(state_dict=state, meta=dict()), path)
    return str(path), state


def grads(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.grad for p in module.parameters() if p.grad is not None and p.grad.abs().sum() > 0]


# 3. step 0 ----------------------------------------------------------------------------------------------------
def test_step0_detector_loss_trains_projector_and_backbone():
    model = build([4])
    model.train()
    assert model.step == 0 and model.prev_model is None and model.detector.num_tasks == 1
    losses = model.loss(inputs(0), samples(step0_labels()))
    assert set(losses) == {'loss_ce', 'loss_det'}
    assert losses['loss_det'].item() > 0 and model.detector.counts.tolist() == [GRID_PIXELS_STEP0]
    losses['loss_det'].backward()  # the detector term alone
    assert grads(model.detector.heads[0]) and grads(model.detector.projector[0])
    assert grads(model.backbone.stem) and grads(model.backbone.layer4)
    assert not grads(model.decode_head)  # loss_ce is not part of it
    model.zero_grad(set_to_none=True)
    model.loss(inputs(0), samples(step0_labels()))['loss_ce'].backward()
    assert grads(model.decode_head) and not grads(model.detector)


# 4. step 1 ----------------------------------------------------------------------------------------------------
def test_step1_freezing_and_training(tmp_path):
    path, state0 = saved_step0(tmp_path)
    model = build([4, 2], prev_checkpoint=path)
    det = model.detector
    assert model.step == 1 and model.num_old_classes == 4 and model.wants_replay
    assert det.num_tasks == 2 and det.prototypes.shape == (2, 16)
    assert torch.equal(det.prototypes[0], state0['detector.prototypes'][0])
    assert torch.equal(det.prototypes[1], torch.zeros(16)) and det.counts.tolist() == [7, 0]
    model.train()
    assert model.training and model.backbone.training and not det.projector.training
    assert not model.prev_model.training
    assert not any(p.requires_grad for p in det.projector.parameters())
    assert not any(p.requires_grad for p in det.heads[0].parameters())
    assert all(p.requires_grad for p in det.heads[1].parameters())
    assert not any(p.requires_grad for p in model.prev_model.parameters())

    model.replay = FakeReplay()
    x, data = inputs(1), samples(step1_labels())
    # the detector term alone reaches only the new head (embedding and prototype detached)
    losses = model.loss(x, data)
    assert set(losses) == LOSS_KEYS
    assert losses['loss_det'].item() > 0
    losses['loss_det'].backward()
    assert grads(det.heads[1]) and not grads(det.heads[0]) and not grads(det.projector)
    assert not grads(model.backbone) and not grads(model.decode_head)
    model.zero_grad(set_to_none=True)

    prev = copy.deepcopy(model.prev_model.state_dict())
    frozen = copy.deepcopy(det.projector.state_dict()) | {'head0.' + k: v for k, v in
                                                          copy.deepcopy(det.heads[0].state_dict()).items()}
    head1 = copy.deepcopy(det.heads[1].state_dict())
    stem = model.backbone.stem[0].weight.detach().clone()
    proto0, count0 = det.prototypes[0].clone(), det.counts[0].clone()
    proto1_before_training = det.prototypes[1].clone()
    counts_before_training = det.counts[1].item()  # the loss above already updated prototype 1 once
    assert counts_before_training == GRID_PIXELS_STEP1
    # every parameter, as mmengine's default constructor does: frozen ones get no gradient, so SGD skips them
    optim = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    model.replay.calls = 0
    for _ in range(3):
        losses = model.loss(x, data)
        assert set(losses) == LOSS_KEYS and all(torch.isfinite(v) for v in losses.values())
        optim.zero_grad()
        sum(losses.values()).backward()
        optim.step()
    assert model.replay.calls == 3

    after = model.prev_model.state_dict()
    assert after.keys() == prev.keys() and all(torch.equal(after[k], v) for k, v in prev.items())
    now = det.projector.state_dict() | {'head0.' + k: v for k, v in det.heads[0].state_dict().items()}
    assert all(torch.equal(now[k], v) for k, v in frozen.items())  # BN statistics included
    assert not all(torch.equal(det.heads[1].state_dict()[k], v) for k, v in head1.items())
    assert not torch.equal(model.backbone.stem[0].weight, stem)
    # replayed old-class labels never reach the prototypes: only the current batches update task 1
    assert torch.equal(det.prototypes[0], proto0) and torch.equal(det.counts[0], count0)
    assert det.counts[1].item() == 4 * GRID_PIXELS_STEP1
    assert not torch.equal(det.prototypes[1], proto1_before_training)


# 5. replay is required ----------------------------------------------------------------------------------------
def test_missing_replay_at_step1_is_a_config_error():
    model = build([4, 2])
    model.train()
    with pytest.raises(ConfigError, match='BACSReplayHook'):
        model.loss(inputs(1), samples(step1_labels()))
    # without the replay terms no sampler is needed
    model = build([4, 2], loss_der=None, loss_derpp=None)
    model.train()
    assert not model.wants_replay
    assert set(model.loss(inputs(1), samples(step1_labels()))) == {'loss_ce', 'loss_det', 'loss_kd'}


# 6. prototypes in the state dict ------------------------------------------------------------------------------
def test_prototypes_and_counts_round_trip_through_the_state_dict(tmp_path):
    path, state0 = saved_step0(tmp_path)
    assert {'detector.prototypes', 'detector.counts'} <= set(state0)
    fresh = build([4])
    assert fresh.detector.counts.tolist() == [0]
    fresh.load_state_dict(torch.load(path, map_location='cpu')['state_dict'])
    assert torch.equal(fresh.detector.prototypes, state0['detector.prototypes'])
    assert fresh.detector.counts.tolist() == [7]
    # step 1: both tasks' prototypes are checkpointed (the previous model keeps its own copy)
    model = build([4, 2], prev_checkpoint=path)
    with torch.no_grad():
        model.detector.prototypes[1] = 0.5
        model.detector.counts[1] = 3
    state1 = model.state_dict()
    assert state1['detector.prototypes'].shape == (2, 16) and state1['detector.counts'].tolist() == [7, 3]
    assert torch.equal(state1['prev_model.detector.prototypes'], state0['detector.prototypes'])
    other = build([4, 2])
    other.load_state_dict(state1)
    assert torch.equal(other.detector.prototypes, state1['detector.prototypes'])
    assert other.detector.counts.tolist() == [7, 3]


# 7. token decoder ---------------------------------------------------------------------------------------------
def test_token_decoder_variant_at_step1_gives_losses_and_gradients(tmp_path):
    head = Config.fromfile(str(TOKEN_MODEL)).model.decode_head.to_dict()
    assert head['type'] == 'TokenMaskTransformerHead'
    head.update(in_channels=64, d_model=16, num_heads=2, ffn_channels=32, pos_grid=(4, 4))
    kw = dict(decode_head=head, new_classifier_init='normal')
    path, _ = saved_step0(tmp_path, **kw)
    model = build([4, 2], prev_checkpoint=path, **kw)
    assert model.decode_head.num_classes == 6 and model.decode_head.class_tokens.shape == (1, 6, 16)
    assert model.prev_model.decode_head.num_classes == 4
    model.train()
    model.replay = FakeReplay()
    raw, feats, g = model.forward_bacs(inputs(1))
    assert raw.shape == (2, 6, 4, 4) and feats.shape == (2, 16, 4, 4) and g.shape == (2, 16, 4, 4)
    losses = model.loss(inputs(1), samples(step1_labels()))
    assert set(losses) == LOSS_KEYS and all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert model.decode_head.class_tokens.grad is not None and grads(model.detector.heads[1])
    assert not grads(model.detector.projector) and not grads(model.prev_model)


# 6. options the segmentor would silently override are refused ---------------------------------------------------
@pytest.mark.parametrize('kw, match', [
    (dict(detector=dict(in_channels=64)), 'detector.in_channels'),
    (dict(detector=dict(num_tasks=5)), 'detector.num_tasks'),
    (dict(decode_head_extra=dict(ignore_index=0)), 'do not set ignore_index'),
    (dict(decode_head_extra=dict(sampler=dict(type='OHEMPixelSampler'))), 'do not set sampler'),
])
def test_overridden_options_are_rejected(kw, match):
    extra = kw.pop('decode_head_extra', None)
    cfg = model_cfg([4], **kw)
    if extra:
        cfg['decode_head'].update(extra)
    init_default_scope('visionx')
    with pytest.raises(ConfigError, match=match):
        MODELS.build(cfg)


def test_mib_init_needs_a_1x1_classifier():
    """The token decoder has no IncrementalClassifier: 'mib' is refused at step 0, not after it trained."""
    cfg = Config.fromfile(str(TOKEN_MODEL)).model
    cfg.update(classes_per_step=[4], new_classifier_init='mib')
    cfg.decode_head.update(in_channels=64, d_model=16, num_heads=2, ffn_channels=32, num_layers=1, pos_grid=(2, 2))
    init_default_scope('visionx')
    with pytest.raises(ConfigError, match="new_classifier_init='mib'.*TokenMaskTransformerHead"):
        MODELS.build(cfg.to_dict())


# 7. the step-1 loss values come from the documented terms, wired to the right inputs -----------------------------
def test_step1_loss_values_from_their_terms(tmp_path, message_hub):
    """Each step-1 term equals its (hand-verified) loss function applied to what the paper wires into it:
    the seen map s = max_t sigmoid(head_t) of the updated prototypes into the CE and the KD, the previous
    model's head features into the KD, the current head on the replay batch against its stored logits (DER,
    alpha 0.8) and labels (DER++, beta 0.5), and the detector's focal loss on the new head times the decay."""
    import torch.nn.functional as F

    from visionx.models.losses.ciss.bacs import (bg_aware_cross_entropy, binary_focal_loss, der_label_loss,
                                                 der_logit_loss, masked_feature_kd)
    path, _ = saved_step0(tmp_path)
    model = build([4, 2], prev_checkpoint=path)
    model.eval()  # no dropout and fixed BN statistics: two passes give the same tensors
    model.replay = FakeReplay()
    det = model.detector
    with torch.no_grad():  # the step-0 head calls every pixel seen (s > 0.5): the KD mask is the background
        det.heads[0].bias.fill_(5.0)
        gen = torch.Generator().manual_seed(3)  # as if step 1 had trained a little: the KD has a difference
        for p in model.decode_head.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
    protos, counts = det.prototypes.clone(), det.counts.clone()
    x, labels = inputs(1), step1_labels()
    message_hub.update_info('iter', 50)  # epoch 50 * 30 // 100 = 15 of 30: decay 1 - e^-15
    try:
        with torch.no_grad():
            losses = model.loss(x, samples(labels))
            det.prototypes.copy_(protos)
            det.counts.copy_(counts)
            # the terms, from the parts
            feats = model.backbone(x)
            raw, head_feats = model.decode_head.forward_with_features(feats)
            g = det.embed(feats[-1])
            class_to_task = torch.tensor([-1, 0, 0, 0, 1, 1])  # classes_per_step [4, 2]
            det.update_prototypes(g, labels, class_to_task)
            seen = torch.stack([torch.sigmoid(det.seen_logits(g, t, (32, 32))) for t in (0, 1)]).amax(0)[:, 0]
            logits = F.interpolate(raw, size=(32, 32), mode='bilinear', align_corners=False)
            ce = bg_aware_cross_entropy(logits, labels, 4, seen=seen, gamma=2.0, threshold=0.5).mean()
            _, prev_feats = model.prev_model.decode_head.forward_with_features(model.prev_model.backbone(x))
            kd = 0.25 * masked_feature_kd(head_feats, prev_feats, labels, seen, threshold=0.5).mean()
            focal = binary_focal_loss(det.seen_logits(g, 1, (32, 32)), labels, gamma=2.0)
            focal = focal.sum() / (labels != 255).sum()  # the mean over labelled pixels (official ignore_index)
            replay = model.replay.batch
            raw_r = model.decode_head(model.backbone(replay['inputs']))
            der = 0.8 * der_logit_loss(raw_r, replay['logits'][:, :6], replay['num_classes']).mean()
            logits_r = F.interpolate(raw_r, size=(32, 32), mode='bilinear', align_corners=False)
            ce_r, w_r = der_label_loss(logits_r, replay['labels'], 4)
            derpp = 0.5 * (ce_r * w_r).sum() / w_r.sum()
    finally:
        message_hub.update_info('iter', 0)
    torch.testing.assert_close(losses['loss_ce'], ce)
    torch.testing.assert_close(losses['loss_kd'], kd)
    torch.testing.assert_close(losses['loss_det'], focal * (1 - math.exp(-15)))
    torch.testing.assert_close(losses['loss_der'], der)
    torch.testing.assert_close(losses['loss_derpp'], derpp)
    assert kd > 0 and der > 0 and derpp > 0  # every term is live on this batch
    assert seen.min() > 0.5
    # the seen map matters: with s = 0 the background keeps its bg-vs-fg term, which s > 0.5 drops
    assert bg_aware_cross_entropy(logits, labels, 4, seen=torch.zeros_like(seen)).mean() > ce


def test_step1_short_training_lowers_the_loss(tmp_path):
    """Ten SGD steps of step 1 on one batch (with replay) lower the summed loss."""
    path, _ = saved_step0(tmp_path)
    model = build([4, 2], prev_checkpoint=path)
    model.train()
    model.replay = FakeReplay()
    x, data = inputs(1), samples(step1_labels())
    optim = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9)
    totals = []
    torch.manual_seed(0)
    for _ in range(10):
        loss = sum(model.loss(x, data).values())
        optim.zero_grad()
        loss.backward()
        optim.step()
        totals.append(loss.item())
    assert totals[-1] < 0.85 * totals[0], totals
