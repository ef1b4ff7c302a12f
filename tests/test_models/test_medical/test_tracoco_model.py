"""TraCoCo model: ramp-up, CutMix, sliding window, post-processing, train_step and an end-to-end run."""
import math

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapperDict
from mmengine.registry import init_default_scope
from mmengine.structures import BaseDataElement

from tests.conftest import REPO_ROOT
from visionx.engine.optimizers import CoTrainingOptimWrapperConstructor
from visionx.models.medical import (TraCoCo, cutmix_3d, rand_boxes_3d, remove_small_components, sigmoid_rampup,
                                    sliding_window_predict, window_starts)

TINY = dict(type='VNet', base_channels=2)


def test_sigmoid_rampup_golden():
    assert sigmoid_rampup(0, 160) == pytest.approx(math.exp(-5))
    assert sigmoid_rampup(80, 160) == pytest.approx(math.exp(-1.25))
    assert sigmoid_rampup(160, 160) == 1.0 and sigmoid_rampup(10_000, 160) == 1.0
    model = TraCoCo(TINY, unsup_weight=0.3, rampup_iters=160)
    assert model.unsup_ramp(80) == pytest.approx(0.3 * math.exp(-1.25))


def test_cutmix_boxes_and_mixing():
    rng = np.random.default_rng(0)
    boxes = rand_boxes_3d((32, 32, 16), 64, lam=0.75, rng=rng)
    assert np.all(boxes[:, 2] == (0, 16))  # official: the box spans the whole depth
    widths = boxes[:, :2, 1] - boxes[:, :2, 0]
    # side = int(32 * sqrt(0.25)) = 16, clipped at the borders: 64 draws reach 16 unclipped and clip some
    assert widths.max() == 16 and widths.min() < 16 and widths.min() >= 8  # a centre inside keeps half the side
    cuboid = rand_boxes_3d((32, 32, 16), 64, lam=0.75, full_depth=False, rng=rng)
    assert (cuboid[:, 2, 1] - cuboid[:, 2, 0]).max() < 16
    vol = torch.arange(4.0).view(4, 1, 1, 1, 1).expand(4, 1, 8, 8, 4).clone()
    target = vol.expand(4, 2, 8, 8, 4).clone()
    mv, mt = cutmix_3d(vol, target, rng=np.random.default_rng(1))
    assert torch.equal(mt[:, :1], mv) and torch.equal(mt[:, 1:], mv)  # same box in input and target
    assert not torch.equal(mv, vol)
    for i in range(4):  # each sample keeps its own values outside the box, a partner's inside
        vals = set(mv[i].unique().tolist())
        assert float(i) in vals and len(vals) <= 2


def test_window_starts_golden():
    assert window_starts(144, 112, 18) == [0, 18, 32]  # ceil(32/18)+1 = 3, last clamped to 144-112
    assert window_starts(88, 80, 4) == [0, 4, 8]
    assert window_starts(80, 80, 4) == [0]
    with pytest.raises(ValueError):
        window_starts(70, 80, 4)


def test_sliding_window_matches_whole_volume_for_a_pointwise_net():
    # A 1x1x1 "network": window averaging of a pointwise map must equal the map itself, with padding.
    net = torch.nn.Conv3d(1, 2, 1)
    vol = torch.randn(1, 20, 13, 9)
    probs = sliding_window_predict(net, vol, (16, 16, 8), (4, 4, 2), 2, batch_size=3)
    assert probs.shape == (2, 20, 13, 9)
    with torch.no_grad():
        ref = net(vol[None]).softmax(1)[0]
    assert torch.allclose(probs, ref, atol=1e-6)
    bad = vol.clone()
    bad[0, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='NaN'):
        sliding_window_predict(net, bad, (16, 16, 8), (4, 4, 2), 2)


def test_remove_small_components():
    m = np.zeros((20, 20, 20), np.uint8)
    m[1:9, 1:9, 1:9] = 1        # 512 voxels
    m[15:17, 15:17, 15:17] = 1  # 8 voxels
    m[12, 12, 12] = 1           # 1 voxel, 26-connected to nothing
    assert remove_small_components(m, 10).sum() == 512
    assert remove_small_components(m, 5).sum() == 520
    assert remove_small_components(m, 0, keep_largest=True).sum() == 512
    assert remove_small_components(np.zeros_like(m), 10).sum() == 0


def _batch(b=4, n_lab=2, size=(16, 16, 16)):
    torch.manual_seed(0)
    inputs, samples = [], []
    box = ((0, 12), (2, 16), (0, 16)), ((4, 16), (0, 14), (0, 16))
    for i in range(b):
        img = torch.rand(2, 1, *size)
        lbl = (img[:, 0] > 0.5).long()
        s = BaseDataElement(metainfo=dict(is_labeled=i < n_lab, overlap=box))
        s.gt_label = lbl
        inputs.append(img)
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def _wrappers(model):
    init_default_scope('visionx')
    cfg = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
    return CoTrainingOptimWrapperConstructor(dict(net1=cfg, net2=cfg))(model)


def test_train_step_updates_both_networks_and_counts_iterations():
    model = TraCoCo(TINY, unsup_weight=1.0, rampup_iters=10)
    wrappers = _wrappers(model)
    assert isinstance(wrappers, OptimWrapperDict) and set(wrappers.keys()) == {'net1', 'net2'}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    log = model.train_step(_batch(), wrappers)
    for key in ('net1.loss_sup', 'net1.loss_cbc', 'net1.loss_trans', 'net1.loss_negent', 'net2.loss_cbc'):
        assert key in log and torch.isfinite(log[key])
    assert log['unsup_w'].item() == pytest.approx(math.exp(-5 * 0.9**2))
    changed = {n.split('.')[0] for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed == {'net1', 'net2'}
    assert int(model.iter_count) == 1
    with pytest.raises(ValueError, match='OptimWrapperDict'):
        model.train_step(_batch(), wrappers['net1'])


def test_supervised_only_baseline_has_only_sup_loss():
    model = TraCoCo(TINY, unsup_weight=0.0)
    log = model.train_step(_batch(), _wrappers(model))
    assert {k for k in log if k.startswith('net1.')} == {'net1.loss', 'net1.loss_sup'}


def test_predict_both_networks_and_mean():
    model = TraCoCo(TINY, test_cfg=dict(patch_size=(16, 16, 16), strides=(8, 8, 8), output='mean')).eval()
    vol = torch.rand(1, 20, 18, 16)
    [s] = model.predict([vol])
    for k in ('pred_label', 'pred_label_net1', 'pred_label_net2'):
        assert s.get(k).shape == (20, 18, 16) and s.get(k).dtype == np.uint8
    with pytest.raises(ValueError):
        model.predict([torch.rand(20, 18, 16)])
    with pytest.raises(ValueError):
        TraCoCo(TINY, test_cfg=dict(output='both'))


def _fixed_sup_loss(model, dataset) -> dict:
    """Supervised loss of each network (eval mode) on fixed crops of the labelled training cases."""
    from visionx.models.losses.tracoco import ce_dice_loss
    xs, ys = [], []
    for i in dataset.labeled_indices:
        np.random.seed(i)
        item = dataset[i]
        xs.append(item['inputs'][0])
        ys.append(item['data_samples'].gt_label[0])
    x, y = torch.stack(xs), torch.stack(ys)
    model.eval()
    with torch.no_grad():
        out = {n: ce_dice_loss(getattr(model, n)(x), y).item() for n in ('net1', 'net2')}
    model.train()
    return out


def test_end_to_end_runner_lowers_the_loss(demo_root, tmp_path):
    """A short run of the demo config through MMEngine's Runner (tiny net, 16^3 crops) lowers the loss."""
    from mmengine.runner import Runner
    cfg = Config.fromfile(str(REPO_ROOT / 'configs/tracoco/tracoco_vnet-tiny_1xb4-150it_demo-4lab-32x32x32.py'))
    cfg.work_dir = str(tmp_path)
    iters = 20
    patch = (16, 16, 16)
    cfg.merge_from_dict({
        'model.backbone.base_channels': 2,
        'model.rampup_iters': 10,
        'model.test_cfg.patch_size': patch,
        'model.test_cfg.strides': (16, 16, 16),
        'train_dataloader.dataset.data_root': str(demo_root / 'tracoco'),
        'val_dataloader.dataset.data_root': str(demo_root / 'tracoco'),
        'test_dataloader.dataset.data_root': str(demo_root / 'tracoco'),
        'train_cfg.max_iters': iters, 'train_cfg.val_interval': iters,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': iters,
        'optim_wrapper.net1.optimizer.lr': 0.1, 'optim_wrapper.net2.optimizer.lr': 0.1,
    })
    cfg.train_dataloader.dataset.pipeline[4]['patch_size'] = patch
    cfg.param_scheduler[0]['end'] = iters
    cfg.visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    runner = Runner.from_cfg(cfg)
    dataset = runner.train_dataloader.dataset
    before = _fixed_sup_loss(runner.model, dataset)
    runner.train()
    after = _fixed_sup_loss(runner.model, dataset)
    for net in ('net1', 'net2'):
        assert after[net] < 0.8 * before[net], (before, after)
    hub = runner.message_hub
    assert len(hub.get_scalar('train/net2.loss_cbc').data[0]) == iters
    for key in ('val/net1/dice', 'val/net2/dice', 'val/net1/hd95'):
        assert np.isfinite(hub.get_scalar(key).current()), key
    assert any(p.name.endswith('.pth') for p in tmp_path.iterdir())
    assert int(runner.model.iter_count) == iters


@pytest.mark.parametrize('loss', ['clDiceLoss', 'SkeletonRecallLoss', 'cbDiceLoss', 'WarpingLoss', 'PersistentHomologyLoss'])
def test_topology_losses_plug_into_the_3d_networks(loss):
    """The TopoMortar losses take (B, C, D, H, W) logits: they train TraCoCo's V-Net as its supervised loss."""
    init_default_scope('visionx')
    cfg = dict(type=loss)
    if loss in ('WarpingLoss', 'PersistentHomologyLoss'):
        cfg['start_fraction'] = 0.0   # topology term on from the first iteration
    if loss == 'PersistentHomologyLoss':
        cfg['topo_size'] = 8
    model = TraCoCo(TINY, unsup_weight=0.0, sup_loss=cfg)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    log = model.train_step(_batch(), _wrappers(model))
    key = f'net1.{model.sup_loss.loss_name}'  # logged under the configured loss's own name
    assert torch.isfinite(log[key]) and log[key] > 0
    assert all(not torch.equal(p, before[n]) for n, p in model.named_parameters() if n.endswith('conv.weight'))


def test_configured_translation_loss_names_and_scales_its_term():
    """``trans_loss`` from config is the one used: its loss_name is the key, loss_weight/reduction/clamp apply."""
    torch.manual_seed(0)
    trans = dict(type='TranslationConsistencyLoss', loss_weight=0.6, reduction='mean', clamp_logits=False,
                 loss_name='loss_shift')
    model = TraCoCo(TINY, unsup_weight=0.5, rampup_iters=4, noise_range=0.0, trans_loss=trans).eval()
    batch = _batch()
    inputs = torch.stack(batch['inputs'])
    with torch.no_grad():
        out = model.loss(inputs, batch['data_samples'])
        z_main, z_trans = model.net1(inputs[:, 0]), model.net1(inputs[:, 1])
    assert 'net1.loss_shift' in out and 'net1.loss_trans' not in out
    # By hand: w(1) = 0.5 exp(-5 (1 - 1/4)^2); KL(softmax(b) || softmax(a)) averaged over C x voxels of each
    # overlap, then averaged over the 4 samples (reduction='mean'), raw logits (no clamp), times 0.6.
    (xm, ym, zm), (xt, yt, zt) = batch['data_samples'][0].overlap
    a = z_main[:, :, xm[0]:xm[1], ym[0]:ym[1], zm[0]:zm[1]]
    b = z_trans[:, :, xt[0]:xt[1], yt[0]:yt[1], zt[0]:zt[1]]
    pa, pb = a.double().softmax(1), b.double().softmax(1)
    kl = (pb * (pb.log() - pa.log())).flatten(1).mean(1).mean()
    w = 0.5 * math.exp(-5 * 0.75 ** 2)
    # The two views' logits are close (KL ~ 1e-6), so float32 cancellation limits the agreement to ~1e-3.
    assert out['net1.loss_shift'].item() == pytest.approx(w * 0.6 * kl.item(), rel=2e-3)
    # Same networks, the translation loss at half the weight under another name: exactly half the term.
    half = TraCoCo(TINY, unsup_weight=0.5, rampup_iters=4, noise_range=0.0,
                   trans_loss=dict(trans, loss_weight=0.3, loss_name='loss_trans')).eval()
    half.load_state_dict(model.state_dict())
    with torch.no_grad():
        ref = half.loss(inputs, batch['data_samples'])
    assert out['net1.loss_shift'].item() == pytest.approx(2 * ref['net1.loss_trans'].item(), rel=1e-6)
    assert torch.equal(out['net1.loss_negent'], ref['net1.loss_negent'])
    with pytest.raises(ValueError, match='distinct loss_name'):
        TraCoCo(TINY, trans_loss=dict(type='TranslationConsistencyLoss', loss_name='loss_cbc'))
