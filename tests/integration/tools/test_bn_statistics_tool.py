# Copyright (c) shike-mm contributors. All rights reserved.
"""tools/analysis_tools/bn_statistics.py on tiny random-weight checkpoints
(a SHIKE ResNet-20 with 3 experts and an mmpretrain ResNet) and generated
Fashion-MNIST-format data: its accuracy with the stored statistics equals
the one recomputed image by image from the state dict, its accuracy with
re-estimated statistics equals the same recomputation on a checkpoint
whose statistics were re-estimated here, and bad input is named."""
import json

import numpy as np
import pytest
import torch

from tests.helpers.analysis_models import (TINY_COUNTS, as_float, parse_table,
                                           ref_group, ref_per_class,
                                           reference_logits, tiny_checkpoints)
from tests.helpers.inprocess_tools import run_tool

TOOL = 'tools/analysis_tools/bn_statistics.py'


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    return tiny_checkpoints(tmp_path_factory.mktemp('bn'))


def reference_accuracy(cfg, ckpt):
    """top1 and per-group mean per-class accuracy, by hand."""
    _, logits, labels = reference_logits(cfg, ckpt)
    per_class = ref_per_class(logits, labels, 10)
    out = dict(top1=100. * float(np.mean(
        [int(np.argmax(z)) == y for z, y in zip(logits, labels)])))
    for g in ('many', 'medium', 'few'):
        out[g] = float(np.mean([a for c, a in enumerate(per_class)
                                if ref_group(TINY_COUNTS[c]) == g]))
    return out


def reestimated_checkpoint(cfg_path, ckpt, out):
    """``ckpt`` with its BN statistics re-estimated on the config's
    training loader, by the library, on a model built here."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from mmpretrain.registry import MODELS

    from shike_mm.analysis.bn_statistics import reestimate_bn_statistics
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(cfg_path)
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    model.load_state_dict(torch.load(ckpt, map_location='cpu')['state_dict'])
    loader = Runner.build_dataloader(cfg.train_dataloader.copy(), seed=0)
    assert reestimate_bn_statistics(model, loader) == 23  # ceil(367 / 16)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, out)
    return out


@pytest.mark.parametrize('name', ['shike', 'baseline'])
def test_accuracy_stored_and_reestimated(tiny, tmp_path, name):
    cfg, ckpt = tiny[name]
    out = tmp_path / 'bn.json'
    run = run_tool(TOOL, [cfg, ckpt, '--device', 'cpu', '--out', out])
    assert run.exit_code == 0, run
    rows = parse_table(run.output, 'Accuracy (%) on the test set')
    progress = f'[1/1] {ckpt}: top-1 {rows[1][2]} stored, {rows[1][6]} ' \
        're-estimated'
    assert progress in run.output.splitlines()
    assert rows[0] == ['checkpoint', 'epoch', 'top1 stored', 'many stored',
                       'medium stored', 'few stored', 'top1 re-est.',
                       'many re-est.', 'medium re-est.', 'few re-est.']
    assert rows[1][:2] == [f'{name}.pth', 'n/a']
    stored = reference_accuracy(cfg, ckpt)
    again = reestimated_checkpoint(cfg, ckpt, tmp_path / 're.pth')
    re_est = reference_accuracy(cfg, again)
    keys = ('top1', 'many', 'medium', 'few')
    for i, k in enumerate(keys):
        assert as_float(rows[1][2 + i]) == pytest.approx(stored[k], abs=5e-3)
        assert as_float(rows[1][6 + i]) == pytest.approx(re_est[k], abs=5e-3)
    # the random-init statistics (mean 0, variance 1) were replaced
    state = torch.load(again, map_location='cpu')['state_dict']
    first = next(k for k in state if k.endswith('running_var'))
    assert not torch.allclose(state[first], torch.ones_like(state[first]))

    numbers = json.loads(out.read_text())
    assert numbers[0]['reestimate_batches'] == 23
    assert numbers[0]['fit']['many']['images'] == 4  # class 0's test images
    assert numbers[0]['fit']['few']['images'] == 6 * 4  # classes 4-9
    fit = parse_table(run.output, 'Fit of the stored BN statistics')
    assert fit[0][2:] == ['shift many', 'shift medium', 'shift few',
                          'var ratio many', 'var ratio medium',
                          'var ratio few']
    assert as_float(fit[1][4]) == pytest.approx(
        numbers[0]['fit']['few']['mean_shift'], abs=5e-4)


def test_no_reestimate_and_bad_input(tiny, tmp_path):
    cfg, ckpt = tiny['baseline']
    run = run_tool(TOOL, [cfg, ckpt, '--no-reestimate', '--device', 'cpu'])
    assert run.exit_code == 0, run
    rows = parse_table(run.output, 'Accuracy (%) on the test set')
    assert rows[1][6:] == ['n/a'] * 4
    # --split val reads val_dataloader: here the test loader under that name
    with_val = tmp_path / 'with_val.py'
    with_val.write_text(f"_base_ = ['{cfg}']\n"
                        "val_dataloader = {{_base_.test_dataloader}}\n")
    val = run_tool(TOOL, [str(with_val), ckpt, '--no-reestimate', '--split',
                          'val', '--device', 'cpu'])
    assert val.exit_code == 0, val
    assert parse_table(val.output, 'Accuracy (%) on the val set') == rows
    no_val = run_tool(TOOL, [cfg, ckpt, '--split', 'val'])
    assert str(no_val.error) == "'the config has no val_dataloader'"
    missing = tmp_path / 'epoch_9.pth'
    bad = run_tool(TOOL, [cfg, ckpt, str(missing)])
    assert isinstance(bad.error, FileNotFoundError)
    assert str(bad.error) == f'checkpoint file not found: {missing}'
