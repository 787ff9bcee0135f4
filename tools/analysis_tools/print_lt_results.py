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


def shown_path(path, cwd=None) -> str:
    """``path`` relative to ``cwd`` (default: the current directory) when
    it lies under it, else absolute; so that mmengine's absolute
    ``last_checkpoint`` and a globbed relative ``best_*.pth`` read alike.

    Args:
        path (str | Path): A file, absolute or relative to ``cwd``.
        cwd (str | Path, optional): The directory to show paths from.
            Defaults to the current directory.

    Returns:
        str: The path to print.
    """
    cwd = Path(cwd or Path.cwd()).resolve()
    path = Path(path)
    path = (path if path.is_absolute() else cwd / path).resolve()
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python tools/analysis_tools/print_lt_results.py',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'work_dir', type=Path, help='the --work-dir of tools/train.py')
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
        target = args.work_dir / last.read_text().strip()
        print(f'  last checkpoint: {shown_path(target)}')
    if best:
        print(f'  best checkpoint: {shown_path(best[-1])}')
    print(f'  log: {shown_path(next(run.glob("*.log"), run))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
