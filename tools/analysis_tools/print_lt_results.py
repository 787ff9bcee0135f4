# Copyright (c) shike-mm contributors. All rights reserved.
"""Print the last validation result of a training run: overall top-1 and
many / medium / few-shot accuracy, plus where the checkpoint and log are.

    python tools/analysis_tools/print_lt_results.py work_dirs/quickstart
"""
import argparse
import json
import sys
from pathlib import Path


def last_validation(work_dir: Path):
    """Return ``(metrics, run_dir)`` of the newest run in ``work_dir`` that
    logged a validation result."""
    runs = sorted(p.parent.parent
                  for p in work_dir.glob('*/vis_data/scalars.json'))
    for run in reversed(runs):
        last = None
        for line in (run / 'vis_data/scalars.json').read_text().splitlines():
            record = json.loads(line)
            if 'accuracy/top1' in record:
                last = record
        if last is not None:
            return last, run
    raise SystemExit(f'no validation result in {work_dir}/*/vis_data/'
                     f'scalars.json: did the training finish?')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir', type=Path)
    args = parser.parse_args(argv)
    metrics, run = last_validation(args.work_dir)
    lines = [('overall top-1', 'accuracy/top1'),
             ('many-shot', 'accuracy/many'),
             ('medium-shot', 'accuracy/medium'),
             ('few-shot', 'accuracy/few')]
    print(f'Result after epoch {metrics.get("epoch", metrics.get("step"))} '
          f'(test set, accuracy %):')
    for label, key in lines:
        value = metrics.get(key)
        text = f'{value:6.2f}' if value is not None else '   n/a (no class)'
        print(f'  {label:<14} {text}')
    best = sorted(args.work_dir.glob('best_*.pth'))
    last = (args.work_dir / 'last_checkpoint')
    if last.is_file():
        # relative to the work directory (absolute in older runs)
        target = args.work_dir.resolve() / last.read_text().strip()
        print(f'  last checkpoint: {target}')
    if best:
        print(f'  best checkpoint: {best[-1]}')
    print(f'  log: {next(run.glob("*.log"), run)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
