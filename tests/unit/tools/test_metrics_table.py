# Copyright (c) shike-mm contributors. All rights reserved.
from shike_mm.analysis.metrics_table import metrics_tables


def test_metrics_become_one_table_per_prefix():
    metrics = {
        'accuracy/top1': 59.08, 'accuracy/many': 73.54,
        'accuracy/per_class': [1.0, 2.0],
        'shifted/forward50/top1': 70.125, 'shifted/forward50/few': 10.0,
        'shifted/uniform/top1': 55.5,
        'calibration/ece': 3.25, 'epochs': 20,
    }
    assert metrics_tables(metrics) == '\n\n'.join([
        'accuracy:\n'
        '|     |  top1 |  many |\n'
        '| --- | ----: | ----: |\n'
        '| all | 59.08 | 73.54 |',
        'shifted:\n'
        '|           |  top1 |   few |\n'
        '| --------- | ----: | ----: |\n'
        '| forward50 | 70.12 | 10.00 |\n'
        '| uniform   | 55.50 |       |',
        'calibration:\n'
        '|     |  ece |\n'
        '| --- | ---: |\n'
        '| all | 3.25 |',
        'metrics:\n'
        '|     | epochs |\n'
        '| --- | -----: |\n'
        '| all |     20 |',
    ])
