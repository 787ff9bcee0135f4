# Copyright (c) shike-mm contributors. All rights reserved.
"""Tabulate metrics files over the seeds of ``tools/compare.py`` runs.

``tools/compare.py`` lays runs out as ``WORK_ROOT/<config>/seed<s>-<key>/``.
Each run may hold metrics files (:mod:`.metrics_file`): the plain test of
``tools/test.py --metrics-out``, or what another tool wrote for the same
checkpoint (a prediction adapted at test time, say). One table row is one
config and one kind of metrics file; each cell the mean ± sample std over
that config's runs.
"""
import fnmatch
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from .lt_analysis import format_table
from .metrics_file import load_metrics, mean_std, numeric_keys


def select_keys(metrics: Dict[str, object],
                patterns: Sequence[str]) -> List[str]:
    """The numeric keys of ``metrics`` matching any of the ``fnmatch``
    ``patterns``, in pattern order, then file order."""
    keys = numeric_keys(metrics)
    chosen: List[str] = []
    for pattern in patterns:
        chosen += [k for k in keys
                   if fnmatch.fnmatchcase(k, pattern) and k not in chosen]
    return chosen


def column_names(keys: Sequence[str]) -> List[str]:
    """Short headers: the ``/``-separated parts in which the keys differ
    (``shifted/forward50/top1``, ``shifted/uniform/top1`` -> ``forward50``,
    ``uniform``); the full key when there is only one."""
    if len(keys) < 2:
        return list(keys)
    parts = [k.split('/') for k in keys]
    if len({len(p) for p in parts}) != 1:
        return list(keys)
    varying = [i for i in range(len(parts[0]))
               if len({p[i] for p in parts}) > 1]
    return ['/'.join(p[i] for i in varying) for p in parts]


def collect_metrics(work_root: Path,
                    files: Sequence[Tuple[str, str]],
                    patterns: Sequence[str],
                    names: Dict[str, str] = None) -> str:
    """The Markdown table of the metrics files under ``work_root``.

    Args:
        work_root (Path): ``tools/compare.py``'s ``--work-root``.
        files (list[tuple[str, str]]): ``(label, path inside a run)`` of
            each kind of metrics file, e.g. ``('plain', 'shifted.json')``.
        patterns (list[str]): ``fnmatch`` patterns of the metric keys to
            report, e.g. ``['shifted/*/top1']``; the columns are the keys
            of the first file found that match.
        names (dict[str, str], optional): Display names of config folders.

    Returns:
        str: A Markdown table with one row per config and kind of file
        present in its runs (``runs`` = the number of runs averaged).

    Raises:
        SystemExit: If no run under ``work_root`` holds any of the files or
            the patterns match no key, naming both.
    """
    names = names or {}
    rows, keys = [], None
    for config in sorted(p for p in Path(work_root).iterdir() if p.is_dir()):
        runs = sorted(p for p in config.iterdir() if p.is_dir())
        for label, relpath in files:
            found = [load_metrics(r / relpath) for r in runs
                     if (r / relpath).is_file()]
            if not found:
                continue
            if keys is None:
                keys = select_keys(found[0], patterns)
                if not keys:
                    raise SystemExit(
                        f'{runs[0] / relpath}: no numeric key matches '
                        f'{list(patterns)}')
            cells = []
            for key in keys:
                values = [m[key] for m in found if key in m]
                cells.append(mean_std(values) if values else 'n/a')
            rows.append([names.get(config.name, config.name), label,
                         str(len(found))] + cells)
    if not rows:
        raise SystemExit(f'no {[p for _, p in files]} in any run folder '
                         f'{work_root}/<config>/<run>/')
    return format_table(['config', 'prediction', 'runs'] +
                        column_names(keys), rows) + '\n'
