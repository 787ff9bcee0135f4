# Copyright (c) shike-mm contributors. All rights reserved.
"""Test metrics as a JSON file: written by ``tools/test.py --metrics-out``
(and by any tool that scores a checkpoint), read back to compare runs.

The file is one JSON object whose keys are the metric names of the log
line (``accuracy/top1``, ``shifted/backward50/few``, ...) and whose values
are numbers or, for per-class metrics, lists of numbers.
"""
import json
import os
import statistics
from pathlib import Path
from typing import Dict, List, Sequence, Union

import numpy as np
import torch


def _plain(value):
    """A JSON-ready copy of a metric value (tensors and arrays as lists)."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def save_metrics(metrics: Dict[str, object], path: Union[str, Path]) -> None:
    """Write ``metrics`` (what ``Runner.test`` returns) to ``path`` as JSON,
    creating its folder."""
    folder = os.path.dirname(str(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump({str(k): _plain(v) for k, v in metrics.items()}, f,
                  indent=1)


def load_metrics(path: Union[str, Path]) -> Dict[str, object]:
    """Read a metrics file written by :func:`save_metrics`.

    Raises:
        ValueError: If the file is not JSON or not one object of metrics;
            the message names the file.
    """
    try:
        with open(path, encoding='utf-8') as f:
            metrics = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f'{path}: not a metrics JSON file ({err})') from err
    if not isinstance(metrics, dict):
        raise ValueError(f'{path}: a metrics file holds one JSON object of '
                         f'metric names, not {type(metrics).__name__}')
    return metrics


def mean_std(values: Sequence[float]) -> str:
    """``mean ± sample std`` with two decimals (the mean alone for one
    value)."""
    if len(values) == 1:
        return f'{values[0]:.2f}'
    return f'{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}'


def numeric_keys(metrics: Dict[str, object], prefix: str = '') -> List[str]:
    """The keys of ``metrics`` that start with ``prefix`` and hold a number,
    in file order."""
    return [
        k for k, v in metrics.items()
        if k.startswith(prefix) and isinstance(v, (int, float))
        and not isinstance(v, bool)
    ]
