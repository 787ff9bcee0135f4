# Copyright (c) shike-mm contributors. All rights reserved.
"""Tabulate the ``rules.md`` tables of ``prediction_rules.py`` over seeds:
one row per (config, rule), each column the mean ± sample std over the
runs of that config.

Runs are found as ``tools/compare.py`` lays them out,
``WORK_ROOT/<config name>/seed<seed>-<key>/rules.md``. Example::

    python tools/analysis_tools/collect_rules.py work_dirs/compare \\
        --rules "as trained" "LA tau=1" --out work_dirs/rules_table.md
"""
import argparse
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List

from shike_mm.analysis.metrics_file import mean_std


def read_rules(path: Path) -> Dict[str, Dict[str, float]]:
    """``{rule: {column: value}}`` of one ``rules.md`` table.

    Raises:
        ValueError: If ``path`` holds no Markdown table.
    """
    rows = [line for line in path.read_text().splitlines()
            if line.startswith('|')]
    if len(rows) < 3:
        raise ValueError(f'{path}: no prediction-rules table in it')
    header = [cell.strip() for cell in rows[0].strip('|').split('|')]
    table = OrderedDict()
    for line in rows[2:]:
        cells = [cell.strip() for cell in line.strip('|').split('|')]
        table[cells[0]] = {
            name: float(value)
            for name, value in zip(header[1:], cells[1:]) if value
        }
    return table


def collect(work_root: Path, rules: List[str], columns: List[str]) -> str:
    """The Markdown table of ``rules`` and ``columns`` over seeds.

    Args:
        work_root (Path): ``tools/compare.py``'s ``--work-root``.
        rules (list[str]): Rule names (first column of ``rules.md``).
        columns (list[str]): Column names of ``rules.md`` to report.

    Returns:
        str: One row per config (folder) and rule present in its runs.
    """
    lines = ['| config | rule | runs | ' + ' | '.join(columns) + ' |',
             '| --- | --- | ---: | ' + ' | '.join('---:' for _ in columns)
             + ' |']
    configs = sorted(p for p in work_root.iterdir() if p.is_dir())
    found = False
    for config in configs:
        tables = [read_rules(p) for p in sorted(config.glob('*/rules.md'))]
        for rule in rules:
            runs = [t[rule] for t in tables if rule in t]
            if not runs:
                continue
            found = True
            cells = []
            for column in columns:
                values = [run[column] for run in runs if column in run]
                cells.append(mean_std(values) if values else 'n/a')
            lines.append(f'| {config.name} | {rule} | {len(runs)} | '
                         + ' | '.join(cells) + ' |')
    if not found:
        raise SystemExit(f'no */*/rules.md with rules {rules} under '
                         f'{work_root}')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python tools/analysis_tools/collect_rules.py',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_root', type=Path)
    parser.add_argument('--rules', nargs='+', default=['as trained'])
    parser.add_argument(
        '--columns', nargs='+',
        default=['top-1', 'fwd-LT 50', 'uniform', 'bwd-LT 50', 'ECE'])
    parser.add_argument('--out', type=Path, help='also write the table here')
    args = parser.parse_args(argv)
    table = collect(args.work_root, args.rules, args.columns)
    print(table, end='')
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table)
    return 0


if __name__ == '__main__':
    sys.exit(main())
