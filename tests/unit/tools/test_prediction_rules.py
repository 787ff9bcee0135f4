# Copyright (c) shike-mm contributors. All rights reserved.
"""tools/analysis_tools/{prediction_rules,reliability_diagram}.py: the
rules against hand-computed values (logit adjustment, tau-normalisation),
the scores against the metrics, one inference pass for every rule, and
both tools on tiny random-weight checkpoints."""
import math

import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from shike_mm.evaluation import CalibrationError, ShiftedDistributionAccuracy
from tests.helpers.analysis_models import (BASELINE_MODEL, SHIKE_MODEL,
                                           TEST_PER_CLASS, TINY_COUNTS,
                                           reference_logits, write_config)
from tests.helpers.generators import write_fashion_mnist_idx
from tests.helpers.tool_modules import load_tool

rules_tool = load_tool('prediction_rules')
reliability_tool = load_tool('reliability_diagram')


def _linear_features(z, weight=None, counts=(100, 10, 1)):
    """Features of a LinearClsHead whose classifier is ``weight``
    (default identity, so its logits are ``z``), bias 0."""
    from mmpretrain.models.heads import LinearClsHead
    z = torch.as_tensor(z, dtype=torch.float32)
    head = LinearClsHead(num_classes=z.shape[1], in_channels=z.shape[1])
    with torch.no_grad():
        head.fc.weight.copy_(
            torch.eye(z.shape[1]) if weight is None else weight)
        head.fc.bias.zero_()
    labels = np.arange(z.shape[0]) % z.shape[1]
    return rules_tool.Features((z, ), labels, list(counts), head.eval())


def test_logit_adjustment_by_hand():
    z = [[2.0, 1.5, 0.2], [0.1, 0.3, 0.0]]
    data = _linear_features(z)
    rules, _ = rules_tool.rule_logits(data, la_taus=(0.5, 1.0, 2.0),
                                      norm_taus=())
    # log prior of 100, 10, 1: log(100/111), log(10/111), log(1/111)
    #   = -0.1044, -2.4069, -4.7095
    # row 0: tau 0.5 -> 2.0522, 2.7035, 2.5547 -> class 1
    #        tau 1   -> 2.1044, 3.9069, 4.9095 -> class 2
    assert rules['as trained'].argmax(1).tolist() == [0, 1]
    assert rules['LA tau=0.5'].argmax(1).tolist() == [1, 2]
    assert rules['LA tau=1'].argmax(1).tolist() == [2, 2]
    prior = np.log(np.array([100., 10., 1.]) / 111.)
    for tau in (0.5, 1.0, 2.0):
        ref = np.asarray(z) - tau * prior
        got = rules[f'LA tau={tau:g}'].numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-6)
        assert got.argmax(1).tolist() == ref.argmax(1).tolist()


def test_tau_norm_by_hand():
    # classifier rows of norm 1, 2, 4; input (1, 1, 1): raw logits 1, 2, 4
    weight = torch.diag(torch.tensor([1., 2., 4.]))
    data = _linear_features([[1., 1., 1.]], weight)
    rules, notes = rules_tool.rule_logits(data, la_taus=(),
                                          norm_taus=(0.5, 1.0))
    assert not notes
    assert rules['as trained'].tolist() == [[1., 2., 4.]]
    # tau 1: unit rows -> 1, 1, 1; tau 0.5: w / sqrt(|w|) -> 1, 1.414, 2
    assert rules['tau-norm 1'][0].tolist() == pytest.approx([1., 1., 1.])
    assert rules['tau-norm 0.5'][0].tolist() == pytest.approx(
        [1., math.sqrt(2.), 2.])


def test_scores_agree_with_the_metrics():
    rng = np.random.default_rng(0)
    counts = [300, 150, 60, 30, 10, 5]
    labels = np.repeat(np.arange(6), 10)
    z = torch.tensor(rng.normal(size=(60, 6)) * 2)
    z[np.arange(60), labels] += torch.tensor(rng.uniform(0, 3, 60))
    got = rules_tool.score(z, labels, counts)
    samples = [
        DataSample(metainfo=dict(sample_idx=i)).set_gt_label(
            int(labels[i])).set_pred_score(torch.softmax(z[i], 0)).to_dict()
        for i in range(60)
    ]
    shifted = ShiftedDistributionAccuracy()
    calib = CalibrationError()
    for metric in (shifted, calib):
        metric.set_class_counts(counts)
        metric.process(None, samples)
    res = shifted.evaluate(60)
    res.update(calib.evaluate(60))
    assert got['fwd-LT 50'] == pytest.approx(res['shifted/forward50/top1'])
    assert got['bwd-LT 50'] == pytest.approx(res['shifted/backward50/top1'])
    assert got['uniform'] == pytest.approx(res['shifted/uniform/top1'])
    assert got['top-1'] == pytest.approx(res['shifted/uniform/top1'])
    assert got['few'] == pytest.approx(res['shifted/uniform/few'])
    assert got['ECE'] == pytest.approx(res['calibration/ece'], rel=1e-5)
    assert got['NLL'] == pytest.approx(res['calibration/nll'], rel=1e-5)


# ----------------------------------------------------------------------
# tiny checkpoints
# ----------------------------------------------------------------------
@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """Random-weight SHIKE (stage 2, cosine classifiers) and linear-head
    baseline checkpoints on generated Fashion-MNIST-format data; the
    baseline's checkpoint stores class counts in its meta."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    tmp = tmp_path_factory.mktemp('rules')
    root = write_fashion_mnist_idx(str(tmp / 'fm'), per_class=150,
                                   test_per_class=TEST_PER_CLASS)
    out = {}
    init_default_scope('mmpretrain')
    for name, text in (('shike', SHIKE_MODEL), ('baseline', BASELINE_MODEL)):
        cfg_path = write_config(tmp / f'{name}.py', root, text)
        torch.manual_seed(1)
        model = MODELS.build(Config.fromfile(str(cfg_path)).model)
        meta = {}
        if name == 'shike':
            model.head.set_mode('retrain')
        else:
            meta['class_counts'] = list(range(10, 0, -1))
        ckpt = tmp / f'{name}.pth'
        torch.save({'state_dict': model.state_dict(), 'meta': meta}, ckpt)
        out[name] = (str(cfg_path), str(ckpt))
    return out


@pytest.fixture(scope='module')
def shike_pass(tiny):
    """The features of the tiny SHIKE model, loaded once with the backbone
    calls counted (batch sizes), and the independent reference logits."""
    from unittest import mock

    from mmpretrain.models import ImageClassifier
    calls = []
    original = ImageClassifier.extract_feat

    def counting(self, inputs, *args, **kwargs):
        calls.append(len(inputs))
        return original(self, inputs, *args, **kwargs)

    cfg, ckpt = tiny['shike']
    with mock.patch.object(ImageClassifier, 'extract_feat', counting):
        data = rules_tool.load_features(cfg, ckpt, device='cpu')
    return data, calls, reference_logits(cfg, ckpt)


def test_multi_expert_rules_in_one_pass(tiny, shike_pass, capsys):
    data, calls, (_, ensemble, labels) = shike_pass
    cfg, ckpt = tiny['shike']
    scores = rules_tool.main([cfg, ckpt], features=data)
    text = capsys.readouterr().out
    # 40 test images, batch 16: 3 backbone passes serve all 9 rules
    assert calls == [16, 16, 8]
    assert list(scores) == [
        'as trained', 'LA tau=0.5', 'LA tau=1', 'LA tau=1.5', 'LA tau=2',
        'expert 1', 'expert 2', 'expert 3', 'mean of experts'
    ]
    assert 'tau-norm left out' in text
    assert '| as trained' in text and 'fwd-LT 50' in text
    # counts from the training set (the checkpoint stores none)
    assert 'training set of the config' in text
    assert data.class_counts == TINY_COUNTS
    np.testing.assert_array_equal(data.labels, labels)
    top1 = (ensemble.argmax(1) == labels).mean() * 100
    assert scores['as trained']['top-1'] == pytest.approx(top1)
    assert scores['mean of experts'] == pytest.approx(scores['as trained'])
    only = rules_tool.main([cfg, ckpt, '--rules', 'as trained', 'expert 2'],
                           features=data)
    assert list(only) == ['as trained', 'expert 2']


def test_linear_head_tau_norm_and_checkpoint_counts(tiny):
    cfg, ckpt = tiny['baseline']
    data = rules_tool.load_features(cfg, ckpt, device='cpu')
    assert data.class_counts == list(range(10, 0, -1))
    assert 'checkpoint' in data.counts_source
    rules, notes = rules_tool.rule_logits(data, la_taus=(1.0, ),
                                          norm_taus=(1.0, ))
    assert not notes
    state = torch.load(ckpt)['state_dict']
    w, b = state['head.fc.weight'], state['head.fc.bias']
    x = data.feats[-1]
    ref = x @ (w / w.norm(dim=1, keepdim=True)).T + b
    torch.testing.assert_close(rules['tau-norm 1'], ref, rtol=1e-4,
                               atol=1e-4)
    torch.testing.assert_close(rules['as trained'], x @ w.T + b,
                               rtol=1e-4, atol=1e-4)
    assert np.bincount(data.labels).tolist() == [TEST_PER_CLASS] * 10


def test_reliability_diagram(tiny, shike_pass, tmp_path, capsys):
    data, _, (_, ensemble, labels) = shike_pass
    cfg, ckpt = tiny['shike']
    out = tmp_path / 'fig' / 'rel.png'
    fig, result = reliability_tool.main([cfg, ckpt, '--out', str(out)],
                                        features=data)
    text = capsys.readouterr().out
    assert out.stat().st_size > 1000
    assert list(result) == ['all', 'many', 'medium', 'few']
    assert len(fig.axes) == 4
    # the same ECE as the metric on the model's mean-logit probabilities
    metric = CalibrationError()
    metric.set_class_counts(TINY_COUNTS)
    metric.process(None, [
        DataSample().set_gt_label(int(y)).set_pred_score(
            torch.softmax(torch.tensor(z), 0)).to_dict()
        for z, y in zip(ensemble, labels)
    ])
    res = metric.evaluate(len(labels))
    assert result['all']['ece'] == pytest.approx(res['calibration/ece'],
                                                 abs=1e-3)
    assert result['few']['ece'] == pytest.approx(
        res['calibration/ece_few'], abs=1e-3)
    assert result['all']['bins']['count'].sum() == len(labels)
    assert 'Bins over all test images' in text


def test_test_py_shifted_calibration(tiny, tmp_path):
    """``tools/test.py --shifted-calibration`` adds both metrics to the
    config's evaluator; in one test run they get the checkpoint's counts
    from ClassCountsHook (all 10 classes few-shot: counts 10 .. 1)."""
    import argparse
    import importlib.util

    from mmengine.config import Config

    from shike_mm.utils.runner_cli import build_runner
    from tests.helpers.commands import REPO_ROOT
    spec = importlib.util.spec_from_file_location(
        '_tools_test', REPO_ROOT / 'tools' / 'test.py')
    test_py = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(test_py)
    cfg_path, ckpt = tiny['baseline']
    cfg = Config.fromfile(cfg_path)
    cfg.test_evaluator = dict(type='LongTailAccuracy', topk=1)
    cfg.test_cfg = dict()
    # the tiny config has a training set (for counts) but no schedule
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    cfg.optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))
    args = argparse.Namespace(
        config=cfg_path, checkpoint=ckpt, work_dir=str(tmp_path),
        launcher='none', cfg_options=None, no_pin_memory=True,
        no_persistent_workers=True, show=False, show_dir=None, out=None,
        expert_logits=False, shifted_calibration=True)
    cfg = test_py.merge_args(cfg, args)
    assert [m['type'] for m in cfg.test_evaluator] == [
        'LongTailAccuracy', 'ShiftedDistributionAccuracy', 'CalibrationError'
    ]
    metrics = build_runner(cfg).test()
    assert 'shifted/backward50/top1' in metrics
    assert metrics['shifted/uniform/top1'] == pytest.approx(
        metrics['accuracy/top1'])
    assert 'calibration/ece_few' in metrics
    assert 'calibration/ece_many' not in metrics  # the checkpoint's counts
    # what tools/test.py prints: one row per test distribution
    from shike_mm.analysis.metrics_table import metrics_tables
    tables = metrics_tables(metrics)
    for row in ('forward50', 'uniform', 'backward50'):
        assert f'\n| {row} ' in tables, tables
