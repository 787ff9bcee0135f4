# Copyright (c) shike-mm contributors. All rights reserved.
"""Train several configs under the same budget, over one or more seeds, and
write a markdown table of the results.

    python tools/compare.py \\
        configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py \\
        configs/baselines/ce_r32_fashion-mnist-lt-r100-1k_20e.py \\
        configs/baselines/bsce_r32_fashion-mnist-lt-r100-1k_20e.py \\
        --seeds 0 1 --out work_dirs/compare/results.md

For every config and seed the resolved config (``--cfg-options``, the seed
and, with ``--epochs``, the schedule rescaled by
``shike_mm.engine.stages.resolve_stage_schedule``) is written to
``<work-root>/<config name>/seed<seed>-<key>/config.py`` and trained there
with ``tools/train.py``. ``<key>`` hashes the package code (``shike_mm/``
and ``tools/train.py``), the resolved config, the seed and the budget, so a
run that already finished with the same key is reused rather than trained
again: a table can be completed over several sittings, and a change of code
or config trains afresh.

The table has one row per config: the last validation's overall top-1 and
many / medium / few-shot accuracy (mean, and ± the sample standard
deviation over seeds when there are several), the parameter count and the
mean training minutes (validation included); below it the budget, the
commit and the exact command.
"""
import argparse
import hashlib
import json
import os.path as osp
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from shike_mm.analysis.run_results import last_validation

REPO = Path(__file__).resolve().parents[1]

METRICS = (('top-1', 'accuracy/top1'), ('many', 'accuracy/many'),
           ('medium', 'accuracy/medium'), ('few', 'accuracy/few'))


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


def code_hash() -> str:
    """sha256 of the package sources and tools/train.py (paths included)."""
    digest = hashlib.sha256()
    files = sorted((REPO / 'shike_mm').rglob('*.py')) + [
        REPO / 'tools' / 'train.py'
    ]
    for path in files:
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def run_key(code: str, config_text: str, seed, epochs) -> str:
    """12 hex digits identifying a run: code, resolved config, seed and
    budget."""
    payload = json.dumps(
        dict(code=code, config=config_text, seed=seed, epochs=epochs),
        sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def load_config(config: str, cfg_options=None, seed=None, epochs=None):
    """The config as it will be trained: ``--cfg-options`` merged, the seed
    set and the schedule rescaled to ``epochs``."""
    import shike_mm  # noqa: F401
    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(config)
    if cfg_options:
        parsed = argparse.Namespace()
        DictAction(option_strings=[], dest='opts')(None, parsed, cfg_options)
        cfg.merge_from_dict(parsed.opts)
    if seed is not None:
        cfg.randomness = dict(cfg.get('randomness', {}), seed=seed)
    from shike_mm.engine.stages import resolve_stage_schedule
    # the stage recipe, read once; --epochs rescales it with the schedule
    return resolve_stage_schedule(cfg, epochs=epochs)


def describe(cfg):
    """Parameter count and budget of a loaded config (the model is built,
    not initialised: nothing is downloaded)."""
    from mmpretrain.registry import DATASETS, MODELS
    model = MODELS.build(cfg.model)
    params = sum(p.numel() for p in model.parameters())
    train_set = DATASETS.build(cfg.train_dataloader.dataset)
    budget = (f'{cfg.train_cfg.max_epochs} epochs, batch '
              f'{cfg.train_dataloader.batch_size}, {len(train_set)} training '
              f'images')
    return params, budget


def train(config_path: Path, work_dir: Path, cfg_options=()) -> float:
    """Run tools/train.py; return the wall-clock minutes."""
    cmd = [sys.executable, str(REPO / 'tools/train.py'), str(config_path),
           '--work-dir', str(work_dir)]
    if cfg_options:
        cmd += ['--cfg-options', *cfg_options]
    print(f'[compare] {" ".join(cmd)}', flush=True)
    start = time.time()
    subprocess.run(cmd, check=True)
    return (time.time() - start) / 60


def mean_spread(values):
    """'m' for one value, 'm ± s' (sample std) for several, 'n/a' for
    none."""
    values = [v for v in values if v is not None]
    if not values:
        return 'n/a'
    if len(values) == 1:
        return f'{values[0]:.2f}'
    return f'{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}'


def format_table(rows, budgets, seeds, commit, command):
    """Markdown table; ``rows``: (name, config, [metrics dicts], params,
    [minutes])."""
    lines = [
        '| config | top-1 | many | medium | few | params | train min |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ]
    for name, config, runs, params, minutes in rows:
        cells = [mean_spread([m.get(key) for m in runs]) for _, key in METRICS]
        known = [m for m in minutes if m is not None]
        train_min = f'{statistics.mean(known):.2f}' if known else 'n/a'
        lines.append(f'| [{name}]({config}) | {" | ".join(cells)} | '
                     f'{params:,} | {train_min} |')
    if len(seeds) == 1:
        seed_text = f', seed {seeds[0]}'
    else:
        seed_text = (f', seeds {", ".join(str(s) for s in seeds)} (mean ± '
                     'sample std over the seeds)')
    lines += [
        '',
        f'Budget: {"; ".join(sorted(budgets))}{seed_text}. '
        f'Commit `{commit}`, {time.strftime("%Y-%m-%d")}, produced by '
        f'`{command}`.',
    ]
    return '\n'.join(lines) + '\n'


def main(argv=None, train_fn=train):
    parser = argparse.ArgumentParser(
        description='Train configs one after another; tabulate the results')
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--work-root', default='work_dirs/compare')
    parser.add_argument('--out', default=None,
                        help='markdown file (default: <work-root>/results.md)')
    parser.add_argument('--seeds', type=int, nargs='+', default=None,
                        help='train every config once per seed (default: '
                        'the seed of each config)')
    parser.add_argument('--epochs', type=int, default=None,
                        help='rescale every schedule to this many epochs '
                        '(the stage boundary kept at the same fraction)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='merged into every config')
    args = parser.parse_args(argv)
    for config in args.configs:
        if not osp.isfile(config):
            parser.error(f'config file not found: {config}')

    command = 'python tools/compare.py ' + shlex.join(
        sys.argv[1:] if argv is None else list(argv))
    work_root = Path(args.work_root)
    out = Path(args.out) if args.out else work_root / 'results.md'
    commit = git_commit()
    code = code_hash()
    rows, budgets, all_seeds = [], set(), []
    for config in args.configs:
        name = osp.splitext(osp.basename(config))[0]
        seeds = args.seeds or [None]
        runs, minutes, params = [], [], None
        for seed in seeds:
            cfg = load_config(config, args.cfg_options, seed, args.epochs)
            actual_seed = cfg.get('randomness', {}).get('seed')
            if actual_seed not in all_seeds:
                all_seeds.append(actual_seed)
            params, budget = describe(cfg)
            budgets.add(budget)
            key = run_key(code, cfg.pretty_text, actual_seed, args.epochs)
            work_dir = work_root / name / f'seed{actual_seed}-{key}'
            done = work_dir / 'compare_run.json'
            if done.is_file():
                elapsed = json.loads(done.read_text())['train_minutes']
                print(f'[compare] reusing {work_dir}', flush=True)
            else:
                work_dir.mkdir(parents=True, exist_ok=True)
                resolved = work_dir / 'config.py'
                cfg.dump(str(resolved))
                elapsed = train_fn(resolved, work_dir, ())
                done.write_text(json.dumps(dict(
                    config=config, seed=actual_seed, epochs=args.epochs,
                    commit=commit, train_minutes=elapsed)))
            metrics, _ = last_validation(work_dir)
            runs.append(metrics)
            minutes.append(elapsed)
        rows.append((name, config, runs, params, minutes))

    table = format_table(rows, budgets, all_seeds, commit, command)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    print(table, end='')
    print(f'[compare] table written to {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
