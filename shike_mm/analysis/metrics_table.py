# Copyright (c) shike-mm contributors. All rights reserved.
"""Evaluation metrics as tables instead of one long log line."""
import numbers
from typing import Dict, List

from .lt_analysis import fmt, format_table


def metrics_tables(metrics: Dict[str, float], digits: int = 2) -> str:
    """One Markdown table per metric prefix.

    Keys ``prefix/row/column`` (``shifted/forward50/top1``) give a row
    ``row`` and a column ``column`` of the ``prefix`` table; keys with one
    slash (``accuracy/top1``) and keys without one form a row named ``all``
    of their prefix's (or the ``metrics``) table. Rows and columns keep the
    order in which their keys first appear. Values that are not numbers
    (per-class lists) are left out.

    Args:
        metrics (dict[str, float]): What ``Runner.test`` returned.
        digits (int): Decimals of every value.

    Returns:
        str: The tables, each under its prefix, separated by a blank line.
    """
    tables: Dict[str, Dict[str, Dict[str, float]]] = {}
    for key, value in metrics.items():
        if not isinstance(value, numbers.Real):
            continue  # per-class lists and the like stay in the log only
        parts = key.split('/')
        if len(parts) == 1:
            prefix, row, column = 'metrics', 'all', parts[0]
        elif len(parts) == 2:
            prefix, row, column = parts[0], 'all', parts[1]
        else:
            prefix, row, column = parts[0], '/'.join(parts[1:-1]), parts[-1]
        tables.setdefault(prefix, {}).setdefault(row, {})[column] = value
    out: List[str] = []
    for prefix, rows in tables.items():
        columns: List[str] = []
        for cells in rows.values():
            columns += [c for c in cells if c not in columns]
        body = [[row] + [fmt(cells[c], digits) if c in cells else ''
                         for c in columns] for row, cells in rows.items()]
        out.append(f'{prefix}:\n' + format_table([''] + columns, body))
    return '\n\n'.join(out)
