"""RePRITestLoop end to end on a tiny PSPNet and hand-made episodes: the metrics equal a by-hand
evaluation (images, labels and features computed here one by one, classifiers fitted one task at a time)
of 2-shot episodes."""
import copy

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from tests.test_datasets.test_fewshot import make_episode_data
from tests.test_models.test_fewshot.test_base_model import tiny_pspnet
from visionx.datasets.fewshot import LongSideResizePad
from visionx.models.fewshot import RePRIClassifier
from visionx.registry import DATASETS

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='LongSideResizePad', size=33),
            dict(type='PackSegInputs')]
CLASSIFIER = dict(adapt_iter=10, fb_param_update=[5])


def episodic_dataset(data_root, **kw):
    return dict(type='FewShotPascalDataset', data_root=str(data_root), fold=0, num_classes=8, min_pixels=200,
                shot=2, episodes_per_run=3, n_runs=2, seed=7, pipeline=PIPELINE, **kw)


def run_loop(tmp_path, data_root, batch_size_val, model_state, model=None, **loop):
    from visionx.engine import VisionXRunner
    init_default_scope('visionx')
    model = model or tiny_pspnet()
    model.load_state_dict(model_state)
    model.data_preprocessor = tiny_preprocessor()
    runner = VisionXRunner(
        model=model, work_dir=str(tmp_path / f'work{batch_size_val}'), default_scope='visionx',
        test_dataloader=dict(dataset=episodic_dataset(data_root), batch_size=3, num_workers=0,
                             sampler=dict(type='DefaultSampler', shuffle=False), collate_fn=dict(type='pseudo_collate')),
        test_cfg=dict(type='RePRITestLoop', batch_size_val=batch_size_val, classifier=CLASSIFIER, **loop),
        test_evaluator=dict(type='FewShotMetric'), default_hooks=dict(logger=None))
    return runner.test()


def test_precision_runs_the_feature_extraction_under_autocast(tmp_path, demo_data):
    """``precision='bf16'`` (what ``tools/test.py --precision bf16`` hands the loop) autocasts the feature
    extraction; the default leaves it fp32."""
    torch.manual_seed(0)
    state = tiny_pspnet().state_dict()
    for precision, expected in (('bf16', torch.bfloat16), ('fp32', None)):
        model, seen = tiny_pspnet(), []
        extract = model.extract_bottleneck_features

        def spy(x, extract=extract, seen=seen):
            seen.append(torch.get_autocast_dtype('cpu') if torch.is_autocast_enabled('cpu') else None)
            return extract(x)
        model.extract_bottleneck_features = spy
        metrics = run_loop(tmp_path / precision, demo_data, 6, state, model=model, precision=precision)
        assert seen and set(seen) == {expected}, precision
        assert 0 <= metrics['mIoU'] <= 100


@pytest.mark.parametrize('loop', [dict(precision='int8'), dict(precision='bf16', fp16=True)])
def test_bad_precision_is_rejected(tmp_path, demo_data, loop):
    from visionx.utils.errors import ConfigError
    with pytest.raises(ConfigError, match='precision'):
        run_loop(tmp_path, demo_data, 6, tiny_pspnet().state_dict(), **loop)


def tiny_preprocessor():
    from visionx.registry import MODELS
    return MODELS.build(dict(type='FewShotSegDataPreProcessor', mean=[120.0] * 3, std=[60.0] * 3,
                             bgr_to_rgb=True))


def load_by_hand(paths, class_id):
    """Image (3, 33, 33) and binary label (33, 33) read and resized here, not through the dataset."""
    img = cv2.imread(paths['img_path'], cv2.IMREAD_COLOR)
    raw = cv2.imread(paths['seg_map_path'], cv2.IMREAD_GRAYSCALE)
    out = LongSideResizePad(size=33)(dict(img=img, gt_seg_map=raw))
    label = np.where(out['gt_seg_map'] == 255, 255, (out['gt_seg_map'] == class_id).astype(np.uint8))
    return torch.from_numpy(out['img']).permute(2, 0, 1), torch.from_numpy(label.astype(np.int64))


@pytest.fixture(scope='module')
def demo_data(tmp_path_factory):
    from visionx.datasets.fewshot.synthetic import make_demo
    root = tmp_path_factory.mktemp('repri_loop_demo')
    make_demo(root, seed=0, small=True)
    return root


def test_loop_matches_one_task_at_a_time_by_hand(tmp_path, demo_data):
    torch.manual_seed(0)
    state = tiny_pspnet().state_dict()
    metrics = run_loop(tmp_path, demo_data, 4, state)  # 6 two-shot tasks: a group of 4, then the remaining 2

    # by hand: every image read and resized here, features one image at a time, one classifier per task
    init_default_scope('visionx')
    model = tiny_pspnet()
    model.load_state_dict(state)
    model.eval()
    prep = tiny_preprocessor()
    ds = DATASETS.build(episodic_dataset(demo_data))
    clf = RePRIClassifier(**CLASSIFIER)
    acc = {}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        feats, labels = [], []
        for paths in [info['query']] + info['supports']:
            img, label = load_by_hand(paths, info['class_id'])
            with torch.no_grad():
                feats.append(model.extract_bottleneck_features(prep(dict(inputs=[img]))['inputs']))
            labels.append(label)
        f_q, f_s = feats[0], torch.cat(feats[1:])
        gt_q, gt_s = labels[0][None], torch.stack(labels[1:])
        st = clf.fit(f_s[None], f_q[None], gt_s[None], gt_q[None])
        pred = clf.predict(st, f_q[None], (33, 33))[0].numpy()
        gt = gt_q[0].numpy()
        valid = gt != 255
        a = acc.setdefault((info['run'], info['class_id']), [0, 0])
        a[0] += int(((pred == 1) & (gt == 1) & valid).sum())
        a[1] += int((((pred == 1) | (gt == 1)) & valid).sum())
    runs = sorted({r for r, _ in acc})
    miou = np.mean([np.mean([a[0] / (a[1] + 1e-10) for (r, _), a in acc.items() if r == run]) for run in runs])
    assert metrics['mIoU'] == pytest.approx(round(100 * miou, 2), abs=0.011)
    assert set(metrics) >= {'mIoU', 'FB-IoU', 'mIoU_run0', 'mIoU_run1'}


def test_loop_rejects_base_dataset(tmp_path):
    from visionx.engine import VisionXRunner
    make_episode_data(tmp_path)
    init_default_scope('visionx')
    model = tiny_pspnet()
    model.data_preprocessor = tiny_preprocessor()
    dataset = dict(type='FewShotPascalDataset', data_root=str(tmp_path), ann_file='lists/pascal/val.txt',
                   fold=1, mode='base', pipeline=PIPELINE)
    runner = VisionXRunner(
        model=model, work_dir=str(tmp_path / 'w'), default_scope='visionx',
        test_dataloader=dict(dataset=dataset, batch_size=1, num_workers=0,
                             sampler=dict(type='DefaultSampler', shuffle=False)),
        test_cfg=dict(type='RePRITestLoop', classifier=copy.deepcopy(CLASSIFIER)),
        test_evaluator=dict(type='FewShotMetric'))
    with pytest.raises(ValueError, match='episodic'):
        runner.test()


def test_loop_rejects_prediction_writer(tmp_path):
    from visionx.engine import VisionXRunner
    from visionx.utils.errors import ConfigError
    make_episode_data(tmp_path)
    init_default_scope('visionx')
    model = tiny_pspnet()
    model.data_preprocessor = tiny_preprocessor()
    dataset = dict(type='FewShotPascalDataset', data_root=str(tmp_path), fold=0, episodes_per_run=1, n_runs=1,
                   pipeline=PIPELINE)
    runner = VisionXRunner(
        model=model, work_dir=str(tmp_path / 'w'), default_scope='visionx',
        test_dataloader=dict(dataset=dataset, batch_size=1, num_workers=0,
                             sampler=dict(type='DefaultSampler', shuffle=False)),
        test_cfg=dict(type='RePRITestLoop', classifier=CLASSIFIER), test_evaluator=dict(type='FewShotMetric'),
        custom_hooks=[dict(type='PredictionWriterHook', out_dir=str(tmp_path / 'out'))])
    with pytest.raises(ConfigError, match='--out'):
        runner.test()
