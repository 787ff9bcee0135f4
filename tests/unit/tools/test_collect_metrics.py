# Copyright (c) shike-mm contributors. All rights reserved.
"""Metrics files and their table over seeds
(``tools/analysis_tools/collect_metrics.py``)."""
import json
import statistics

import numpy as np
import pytest
import torch

from shike_mm.analysis.metrics_file import load_metrics, save_metrics
from shike_mm.analysis.metrics_over_seeds import (collect_metrics,
                                                  column_names, select_keys)
from tests.helpers.tool_modules import load_tool


def test_save_and_load_round_trip(tmp_path):
    metrics = {'accuracy/top1': 61.5, 'shifted/uniform/top1': np.float32(2.5),
               'per_class': torch.tensor([1.0, 0.5]),
               'counts': np.array([3, 1])}
    path = tmp_path / 'sub' / 'm.json'
    save_metrics(metrics, path)
    assert load_metrics(path) == {'accuracy/top1': 61.5,
                                  'shifted/uniform/top1': 2.5,
                                  'per_class': [1.0, 0.5], 'counts': [3, 1]}


@pytest.mark.parametrize('text, message', [('{"a": ', 'not a metrics JSON'),
                                           ('[1, 2]', 'not list')])
def test_load_refuses_what_is_not_a_metrics_object(tmp_path, text, message):
    path = tmp_path / 'bad.json'
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as err:
        load_metrics(path)
    assert str(path) in str(err.value)


def test_keys_and_headers():
    metrics = {'shifted/forward50/top1': 1.0, 'shifted/forward50/few': 2.0,
               'shifted/uniform/top1': 3.0, 'accuracy/top1': 4.0,
               'per_class': [1.0]}
    keys = select_keys(metrics, ['shifted/*/top1'])
    assert keys == ['shifted/forward50/top1', 'shifted/uniform/top1']
    assert column_names(keys) == ['forward50', 'uniform']
    assert select_keys(metrics, ['accuracy/top1', 'shifted/*/top1']) == [
        'accuracy/top1', 'shifted/forward50/top1', 'shifted/uniform/top1']
    assert column_names(['accuracy/top1']) == ['accuracy/top1']


def write_runs(root, config, seeds, name, values):
    for seed, value in zip(seeds, values):
        run = root / config / f'seed{seed}-abc'
        run.mkdir(parents=True, exist_ok=True)
        (run / name).write_text(json.dumps(
            {'shifted/forward50/top1': value, 'shifted/uniform/top1':
             value + 1, 'accuracy/top1': 0.0}))


def test_table_over_seeds(tmp_path):
    write_runs(tmp_path, 'b_cfg', [0, 1], 'shifted.json', [60.0, 64.0])
    write_runs(tmp_path, 'a_cfg', [0, 1, 2], 'shifted.json', [50, 51, 55])
    write_runs(tmp_path, 'a_cfg', [0], 'agg.json', [70.0])
    (tmp_path / 'a_cfg' / 'notes').mkdir()  # a folder without metrics
    table = collect_metrics(tmp_path, [('plain', 'shifted.json'),
                                       ('adapted', 'agg.json')],
                            ['shifted/*/top1'], names={'a_cfg': 'A'})
    lines = table.splitlines()
    assert [c.strip() for c in lines[0].strip('|').split('|')] == [
        'config', 'prediction', 'runs', 'forward50', 'uniform']
    rows = [[c.strip() for c in line.strip('|').split('|')]
            for line in lines[2:]]
    std = statistics.stdev([50, 51, 55])
    assert rows == [
        ['A', 'plain', '3', f'52.00 ± {std:.2f}', f'53.00 ± {std:.2f}'],
        ['A', 'adapted', '1', '70.00', '71.00'],
        ['b_cfg', 'plain', '2', '62.00 ± 2.83', '63.00 ± 2.83'],
    ]


def test_tool_errors_name_the_root_and_pattern(tmp_path, capsys):
    tool = load_tool('collect_metrics')
    write_runs(tmp_path, 'cfg', [0], 'metrics.json', [1.0])
    assert tool.main([str(tmp_path), '--keys', 'shifted/*/top1']) == 0
    assert 'forward50' in capsys.readouterr().out
    with pytest.raises(SystemExit, match='no numeric key matches'):
        tool.main([str(tmp_path), '--keys', 'nothing/*'])
    with pytest.raises(SystemExit, match='no .*other.json'):
        tool.main([str(tmp_path), '--files', 'x=other.json'])


def test_test_py_refuses_a_metrics_file_that_is_not_json(tmp_path):
    import argparse
    import importlib.util

    from tests.helpers.commands import REPO_ROOT
    spec = importlib.util.spec_from_file_location(
        '_tools_test_metrics', REPO_ROOT / 'tools' / 'test.py')
    test_py = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(test_py)
    ckpt = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': {}}, ckpt)
    args = argparse.Namespace(checkpoint=str(ckpt), metrics_out='m.txt')
    with pytest.raises(ValueError, match=r"--metrics-out must end with "
                       r"\.json, got 'm\.txt'"):
        test_py.merge_args(None, args)
