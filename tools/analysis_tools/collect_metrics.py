# Copyright (c) shike-mm contributors. All rights reserved.
"""Tabulate metrics files over the seeds of ``tools/compare.py`` runs: one
row per config and kind of metrics file, each cell the mean ± sample std
over that config's runs.

Runs are found as ``tools/compare.py`` lays them out,
``WORK_ROOT/<config name>/seed<seed>-<key>/``; metrics files are what
``tools/test.py --metrics-out`` writes (one JSON object of metrics).
Example, top-1 on every shifted test distribution::

    for run in W/*/seed*-*/; do
        python tools/test.py "$run/config.py" "$run/epoch_20.pth" \\
            --shifted-calibration --metrics-out "$run/shifted.json"
    done
    python tools/analysis_tools/collect_metrics.py W \\
        --files plain=shifted.json --keys 'shifted/*/top1'
"""
import argparse
import sys
from pathlib import Path

from shike_mm.analysis.metrics_over_seeds import collect_metrics


def label_and_value(text: str):
    """``LABEL=VALUE`` as a pair (argparse type)."""
    label, sep, value = text.partition('=')
    if not sep or not label or not value:
        raise argparse.ArgumentTypeError(f'expected LABEL=VALUE, got {text!r}')
    return label, value


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python tools/analysis_tools/collect_metrics.py',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_root', type=Path)
    parser.add_argument(
        '--files', nargs='+', type=label_and_value,
        default=[('plain', 'metrics.json')], metavar='LABEL=PATH',
        help='kinds of metrics file, as a path inside each run folder '
        '(default: plain=metrics.json)')
    parser.add_argument(
        '--keys', nargs='+', default=['shifted/*/top1'],
        help='fnmatch patterns of the metrics to report (default: '
        "'shifted/*/top1')")
    parser.add_argument(
        '--names', nargs='+', type=label_and_value, default=[],
        metavar='CONFIG=NAME', help='display names of config folders')
    parser.add_argument('--out', type=Path, help='also write the table here')
    args = parser.parse_args(argv)
    table = collect_metrics(args.work_root, args.files, args.keys,
                            dict(args.names))
    print(table, end='')
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table)
    return 0


if __name__ == '__main__':
    sys.exit(main())
