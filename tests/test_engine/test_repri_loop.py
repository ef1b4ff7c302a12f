"""RePRITestLoop end to end on a tiny PSPNet and hand-made episodes: the metrics equal a by-hand
evaluation of per-task classifiers fitted one at a time (the loop fits them by groups)."""
import copy

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from tests.test_datasets.test_fewshot import make_episode_data
from tests.test_models.test_fewshot.test_base_model import tiny_pspnet
from visionx.models.fewshot import RePRIClassifier
from visionx.registry import DATASETS

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='LongSideResizePad', size=33),
            dict(type='PackSegInputs')]
CLASSIFIER = dict(adapt_iter=10, fb_param_update=[5])


def run_loop(tmp_path, data_root, batch_size_val, model_state):
    from visionx.engine import VisionXRunner
    init_default_scope('visionx')
    model = tiny_pspnet()
    model.load_state_dict(model_state)
    model.data_preprocessor = tiny_preprocessor()
    dataset = dict(type='FewShotPascalDataset', data_root=str(data_root), fold=0, shot=1, episodes_per_run=3,
                   n_runs=2, seed=7, pipeline=PIPELINE)
    runner = VisionXRunner(
        model=model, work_dir=str(tmp_path / f'work{batch_size_val}'), default_scope='visionx',
        test_dataloader=dict(dataset=dataset, batch_size=2, num_workers=0,
                             sampler=dict(type='DefaultSampler', shuffle=False), collate_fn=dict(type='pseudo_collate')),
        test_cfg=dict(type='RePRITestLoop', batch_size_val=batch_size_val, classifier=CLASSIFIER),
        test_evaluator=dict(type='FewShotMetric'), default_hooks=dict(logger=None))
    return runner.test()


def tiny_preprocessor():
    from visionx.registry import MODELS
    return MODELS.build(dict(type='FewShotSegDataPreProcessor', mean=[120.0] * 3, std=[60.0] * 3,
                             bgr_to_rgb=True))


def test_loop_matches_one_task_at_a_time_by_hand(tmp_path):
    make_episode_data(tmp_path)
    torch.manual_seed(0)
    state = tiny_pspnet().state_dict()
    m2 = run_loop(tmp_path, tmp_path, 4, state)  # 6 tasks: a group of 4, then the remaining 2

    # by hand: features of every episode, one classifier per task, IoU accumulated per class and run
    init_default_scope('visionx')
    model = tiny_pspnet()
    model.load_state_dict(state)
    model.eval()
    prep = tiny_preprocessor()
    ds = DATASETS.build(dict(type='FewShotPascalDataset', data_root=str(tmp_path), fold=0, shot=1,
                             episodes_per_run=3, n_runs=2, seed=7, pipeline=PIPELINE))
    clf = RePRIClassifier(**CLASSIFIER)
    acc = {}
    for i in range(len(ds)):
        item = ds[i]
        with torch.no_grad():
            q = prep(dict(inputs=[item['inputs']], data_samples=[item['data_samples']]))['inputs']
            s = prep(dict(inputs=list(item['support_inputs']), data_samples=item['support_data_samples']))['inputs']
            f_q, f_s = model.extract_bottleneck_features(q), model.extract_bottleneck_features(s)
        gt_q = item['data_samples'].gt_sem_seg.data.long()
        gt_s = item['support_data_samples'][0].gt_sem_seg.data.long()
        st = clf.fit(f_s[None], f_q[None], gt_s[None], gt_q[None])
        pred = clf.predict(st, f_q[None], (33, 33))[0].numpy()
        gt = gt_q[0].numpy()
        valid = gt != 255
        inter = int(((pred == 1) & (gt == 1) & valid).sum())
        union = int((((pred == 1) | (gt == 1)) & valid).sum())
        key = (item['data_samples'].run, item['data_samples'].class_id)
        a = acc.setdefault(key, [0, 0])
        a[0] += inter
        a[1] += union
    runs = sorted({r for r, _ in acc})
    miou = np.mean([np.mean([a[0] / (a[1] + 1e-10) for (r, _), a in acc.items() if r == run]) for run in runs])
    assert m2['mIoU'] == pytest.approx(round(100 * miou, 2), abs=0.011)
    assert set(m2) >= {'mIoU', 'FB-IoU', 'mIoU_run0', 'mIoU_run1'}


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
