# Copyright (c) shike-mm contributors. All rights reserved.
"""Train several configs one after another under the same budget and write
a markdown table of the results.

    python tools/compare.py \\
        configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py \\
        configs/baselines/resnet28-ce_fashion-mnist-lt-r100-1k_20e.py \\
        configs/baselines/resnet28-bsce_fashion-mnist-lt-r100-1k_20e.py \\
        --out work_dirs/compare/results.md

Each config is trained with ``tools/train.py`` into
``<work-root>/<config name>``; the table reports the last validation of
each run (overall top-1, many / medium / few-shot accuracy), the model's
parameter count, the wall-clock training minutes (validation included) and
the git commit the code was at.
"""
import argparse
import os.path as osp
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'tools' / 'analysis_tools'))

from print_lt_results import last_validation  # noqa: E402


def git_commit() -> str:
    """Short hash of HEAD, with '+dirty' when tracked files differ."""
    try:
        head = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                              cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain',
                                '--untracked-files=no'], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'
    return head + ('+dirty' if dirty else '')


def describe(config: str, cfg_options=None):
    """Parameter count and budget of a config (the model is built, not
    initialised: nothing is downloaded)."""
    import shike_mm  # noqa: F401
    from mmengine.config import Config, DictAction
    from mmpretrain.registry import DATASETS, MODELS
    cfg = Config.fromfile(config)
    if cfg_options:
        parsed = argparse.Namespace()
        DictAction(option_strings=[], dest='opts')(None, parsed, cfg_options)
        cfg.merge_from_dict(parsed.opts)
    model = MODELS.build(cfg.model)
    params = sum(p.numel() for p in model.parameters())
    train_set = DATASETS.build(cfg.train_dataloader.dataset)
    budget = (f'{cfg.train_cfg.max_epochs} epochs, batch '
              f'{cfg.train_dataloader.batch_size}, {len(train_set)} training '
              f'images, seed {cfg.get("randomness", {}).get("seed")}')
    return params, budget


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Train configs one after another; tabulate the results')
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--work-root', default='work_dirs/compare')
    parser.add_argument('--out', default=None,
                        help='markdown file (default: <work-root>/results.md)')
    parser.add_argument('--skip-existing', action='store_true',
                        help='reuse finished runs found in the work root')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed on to every tools/train.py run')
    args = parser.parse_args(argv)

    work_root = Path(args.work_root)
    out = Path(args.out) if args.out else work_root / 'results.md'
    commit = git_commit()
    rows, budgets = [], set()
    for config in args.configs:
        name = osp.splitext(osp.basename(config))[0]
        work_dir = work_root / name
        params, budget = describe(config, args.cfg_options)
        budgets.add(budget)
        minutes = None
        if not (args.skip_existing and (work_dir / 'last_checkpoint').exists()):
            cmd = [sys.executable, str(REPO / 'tools/train.py'), config,
                   '--work-dir', str(work_dir)]
            if args.cfg_options:
                cmd += ['--cfg-options', *args.cfg_options]
            print(f'[compare] {" ".join(cmd)}', flush=True)
            start = time.time()
            subprocess.run(cmd, check=True)
            minutes = (time.time() - start) / 60
        metrics, _ = last_validation(work_dir)
        rows.append((name, config, metrics, params, minutes))

    def fmt(value):
        return f'{value:.2f}' if value is not None else 'n/a'

    lines = [
        '| config | top-1 | many | medium | few | params | train min |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ]
    for name, config, metrics, params, minutes in rows:
        lines.append(
            f'| [{name}]({config}) | {fmt(metrics.get("accuracy/top1"))} | '
            f'{fmt(metrics.get("accuracy/many"))} | '
            f'{fmt(metrics.get("accuracy/medium"))} | '
            f'{fmt(metrics.get("accuracy/few"))} | {params:,} | '
            f'{fmt(minutes)} |')
    lines += [
        '',
        f'Budget: {"; ".join(sorted(budgets))}. Commit `{commit}`, '
        f'{time.strftime("%Y-%m-%d")}, produced by '
        f'`python tools/compare.py {" ".join(args.configs)}`.',
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    print(f'[compare] table written to {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
