# Copyright (c) shike-mm contributors. All rights reserved.
"""Print the last validation result of a training run: overall top-1 and
many / medium / few-shot accuracy, plus where the checkpoint and log are.

    python tools/analysis_tools/print_lt_results.py work_dirs/quickstart
    python tools/analysis_tools/print_lt_results.py work_dirs/quickstart \
        --expected tools/quickstart_expected.json

``--expected`` adds what the same config gave over several seeds on the
locked stack (mean ± sample std and the range), from a JSON file with
``seeds``, ``stack``, ``commit`` and, per metric key, the list ``runs``
of one value per seed.
"""
import argparse
import json
import sys
from pathlib import Path

from shike_mm.analysis.run_results import last_validation

LINES = (('overall top-1', 'accuracy/top1'), ('many-shot', 'accuracy/many'),
         ('medium-shot', 'accuracy/medium'), ('few-shot', 'accuracy/few'))


def expected_lines(path: Path) -> list:
    """The lines that say what to expect, from an ``--expected`` file.

    Args:
        path (Path): JSON with ``seeds`` (list), ``stack`` and ``commit``
            (str) and ``metrics``: ``{key: {"runs": [one value per
            seed]}}`` for the keys of :data:`LINES`.

    Returns:
        list[str]: A heading and one line per metric: mean ± sample std
        and [min, max] over the seeds.
    """
    import statistics
    try:
        spec = json.loads(path.read_text())
        seeds, metrics = spec['seeds'], spec['metrics']
    except (OSError, ValueError, KeyError) as error:
        raise SystemExit(f'--expected {path}: cannot read the expected '
                         f'results ({type(error).__name__}: {error})')
    lines = [f'Expected with {spec.get("stack", "the locked stack")} '
             f'(seeds {", ".join(map(str, seeds))}, code of '
             f'{spec.get("commit", "?")}; mean ± std [min, max]):']
    for label, key in LINES:
        runs = metrics.get(key, {}).get('runs', [])
        if len(runs) != len(seeds):
            raise SystemExit(f'--expected {path}: {key} has {len(runs)} '
                             f'values for {len(seeds)} seeds')
        lines.append(f'  {label:<14} {statistics.mean(runs):6.2f} ± '
                     f'{statistics.stdev(runs):5.2f}  [{min(runs):.2f}, '
                     f'{max(runs):.2f}]')
    lines.append('  Other seeds, thread counts, package versions and CPUs '
                 '(float32 rounds per instruction set) move a 20-epoch run '
                 'like another seed does.')
    return lines


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
    parser.add_argument(
        '--expected', type=Path,
        help='JSON of the same config\'s results over several seeds; '
        'printed after the result as the range to expect')
    args = parser.parse_args(argv)
    expected = expected_lines(args.expected) if args.expected else []
    metrics, run = last_validation(args.work_dir)
    print(f'Result after epoch {metrics.get("epoch", metrics.get("step"))} '
          f'(test set, accuracy %):')
    for label, key in LINES:
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
    for line in expected:
        print(line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
