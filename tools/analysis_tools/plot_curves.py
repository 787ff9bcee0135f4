# Copyright (c) shike-mm contributors. All rights reserved.
"""Learning curves of training runs: every loss term and the validation
accuracy with its many / medium / few-shot parts, per epoch.

Reads mmengine's ``vis_data/scalars.json`` (one JSON record per line,
split into training and validation records by mmpretrain's
``load_json_log``). mmpretrain's ``tools/analysis_tools/analyze_logs.py``
(shipped in the mmpretrain package under ``.mim/tools``) reads the same
file, but it takes the keys of the *first* training record and indexes
every record by them, so it stops with an error on a SHIKE run, whose loss
terms change at the stage boundary (``loss_dkt`` and ``loss_mutual`` end,
``loss_bsce`` begins); it also draws everything on one axis. This tool
averages each term over the logged records of each epoch, leaves a term
out of the epochs that do not log it, and draws two panels: losses (log
scale) and validation accuracy, on whole-epoch ticks. A dotted vertical
line marks each stage switch (between the last epoch of one stage and the
first of the next), read from the stage recipe of the run's config
(``vis_data/config.py``, which mmengine writes next to the log). Prints the
numbers behind the figure.

Examples::

    python tools/analysis_tools/plot_curves.py work_dirs/quickstart \\
        --out work_dirs/quickstart/curves.png
    python tools/analysis_tools/plot_curves.py \\
        work_dirs/a/20260101_000000/vis_data/scalars.json work_dirs/b \\
        --names SHIKE baseline --out curves.png
    python tools/analysis_tools/plot_curves.py work_dirs/shike-s0 \\
        work_dirs/shike-s1 work_dirs/bsce-s0 --names "SHIKE s0" \\
        "SHIKE s1" "BS s0" --by-metric --out crossing.png
"""
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
from mmengine.config import Config
from mmpretrain.utils import load_json_log

from shike_mm.analysis.cli import tool_parser, use_headless_backend
from shike_mm.analysis.lt_analysis import fmt, format_table, save_figure
from shike_mm.engine.stages import resolve_stage_schedule, stage_recipe_of

use_headless_backend()  # files only: no display needed

NOT_METRICS = ('step', 'epoch', 'iter', 'time', 'data_time', 'lr')


def parse_args(argv=None):
    parser = tool_parser(__file__, __doc__)
    parser.add_argument(
        'logs',
        nargs='+',
        help='scalars.json files, or work dirs (every run folder with a '
        'vis_data/scalars.json, joined in time order: a resumed run '
        'continues the curves of the run it resumed)')
    parser.add_argument('--out', required=True, help='PNG file to write')
    parser.add_argument('--names', nargs='+', help='one name per log')
    parser.add_argument(
        '--by-metric',
        action='store_true',
        help='one panel per validation key with one line per log (to '
        'compare runs), instead of a loss panel and a validation panel')
    parser.add_argument(
        '--val-keys',
        nargs='+',
        default=['accuracy/top1', 'accuracy/many', 'accuracy/medium',
                 'accuracy/few'],
        help='validation keys to draw (those a log lacks are skipped)')
    return parser.parse_args(argv)


def find_scalars(path: str) -> List[Path]:
    """The logs behind ``path``: ``[path]`` for a file; for a work dir
    every ``path/<run>/vis_data/scalars.json``, oldest run first (mmengine
    names run folders by their start time, ``YYYYmmdd_HHMMSS``)."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise FileNotFoundError(f'no such log file or work dir: {path}')
    found = sorted(p.glob('*/vis_data/scalars.json'))
    if not found:
        raise FileNotFoundError(
            f'{path} holds no */vis_data/scalars.json (mmengine writes it '
            'when a run logs)')
    return found


def join_curves(parts: Sequence[dict]) -> dict:
    """Join the per-epoch curves of consecutive runs of one work dir.

    A run resumed from the checkpoint of epoch ``e`` logs epochs ``e + 1``
    on, some of which the interrupted run may have logged already: for an
    epoch logged by several runs the latest run's numbers are kept.

    Args:
        parts (Sequence[dict]): :func:`epoch_curves` of each run, oldest
            first.

    Returns:
        dict: The same structure as one :func:`epoch_curves` result.
    """
    joined = dict(train=OrderedDict(), val=OrderedDict())
    for part in parts:
        for section in ('train', 'val'):
            for key, per_epoch in part[section].items():
                joined[section].setdefault(key, {}).update(per_epoch)
    for section in ('train', 'val'):
        for key, per_epoch in joined[section].items():
            joined[section][key] = dict(sorted(per_epoch.items()))
    return joined


def epoch_curves(log_file: Path, val_keys: Sequence[str]) -> dict:
    """Per-epoch numbers of one log.

    Args:
        log_file (Path): A ``scalars.json``.
        val_keys (Sequence[str]): Validation keys to keep.

    Returns:
        dict: ``train``: ``{key: {epoch: mean}}`` for ``lr`` and every key
        starting with ``loss`` (the mean of the records the epoch logged);
        ``val``: ``{key: {epoch: value}}`` for the ``val_keys`` present
        (mmengine's ``step`` of a validation record is its epoch).
    """
    log = load_json_log(str(log_file))
    if not log['train'] and not log['val']:
        raise ValueError(f'{log_file} holds no records')
    sums: Dict[str, Dict[int, List[float]]] = OrderedDict()
    for rec in log['train']:
        if 'epoch' not in rec:
            raise ValueError(f'{log_file}: training records without '
                             '"epoch" (an iteration-based run); this tool '
                             'draws epoch-based runs')
        for k, v in rec.items():
            if k == 'lr' or k.startswith('loss'):
                sums.setdefault(k, {}).setdefault(int(rec['epoch']),
                                                  []).append(float(v))
    train = OrderedDict(
        (k, {e: float(np.mean(v)) for e, v in per.items()})
        for k, per in sums.items())
    val = OrderedDict()
    for key in val_keys:
        values = {int(r['step']): float(r[key]) for r in log['val']
                  if key in r}
        if values:
            val[key] = values
    return dict(train=train, val=val)


def stage_switches(log_file: Path) -> List[Tuple[int, str]]:
    """``(begin, name)`` of every stage after the first in the run whose
    log is ``log_file``, from the config mmengine saved beside it
    (``vis_data/config.py``); ``[]`` without that file or without a
    ``StageSwitchHook``. ``begin`` is 0-based: the stage's first epoch is
    epoch ``begin + 1`` of the log.

    Args:
        log_file (Path): A run's ``vis_data/scalars.json``.
    """
    config = Path(log_file).with_name('config.py')
    if not config.is_file():
        return []
    recipe = stage_recipe_of(resolve_stage_schedule(
        Config.fromfile(str(config))))
    if recipe is None:
        return []
    return [(s.begin, s.name) for s in recipe.stages if s.begin > 0]


def mark_stages(ax, switches: Sequence[Tuple[int, str]]) -> None:
    """A dotted vertical line at every stage switch, half-way between the
    last epoch of a stage and the first of the next (``begin + 0.5`` on
    the log's 1-based epoch axis), labelled for the legend."""
    for begin, name in switches:
        ax.axvline(begin + 0.5, color='0.35', ls=':', lw=1.2,
                   label=f'stage {name!r} from epoch {begin + 1}')


def epoch_axis(ax) -> None:
    """Label the x axis 'epoch' with whole-epoch ticks only."""
    from matplotlib.ticker import MaxNLocator
    ax.set_xlabel('epoch')
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def tables(curves: Sequence[dict], names: Sequence[str]) -> str:
    """One per-epoch table per log."""
    text = []
    for c, name in zip(curves, names):
        keys = list(c['train']) + list(c['val'])
        epochs = sorted({e for k in c['train'] for e in c['train'][k]} |
                        {e for k in c['val'] for e in c['val'][k]})
        rows = []
        for e in epochs:
            row = [e]
            for k in c['train']:
                v = c['train'][k].get(e)
                row.append('' if v is None else (
                    f'{v:.4g}' if k == 'lr' else fmt(v, 4)))
            for k in c['val']:
                v = c['val'][k].get(e)
                row.append('' if v is None else fmt(v, 2))
            rows.append(row)
        text += [f'{name}: training terms (mean of the epoch\'s logged '
                 'records) and validation (%):',
                 format_table(['epoch'] + keys, rows), '']
    return '\n'.join(text).rstrip()


def plot(curves: Sequence[dict], names: Sequence[str]):
    """Two panels: loss terms (log y) and validation metrics; one line per
    (log, key), lr is left out of the figure.

    Returns:
        matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    fig, (ax_l, ax_v) = plt.subplots(1, 2, figsize=(10, 3.8))
    styles = ['-', '--', ':', '-.']
    for i, (c, name) in enumerate(zip(curves, names)):
        prefix = f'{name}: ' if len(curves) > 1 else ''
        ls = styles[i % len(styles)]
        for k, per in c['train'].items():
            if k == 'lr':
                continue
            e = sorted(per)
            ax_l.plot(e, [per[x] for x in e], ls=ls, marker='.',
                      label=prefix + k)
        for k, per in c['val'].items():
            e = sorted(per)
            ax_v.plot(e, [per[x] for x in e], ls=ls, marker='o', ms=4,
                      label=prefix + k.split('/')[-1])
    switches = sorted({s for c in curves
                       for s in c.get('stage_switches', [])})
    ax_l.set_yscale('log')
    ax_l.set_ylabel('training loss (epoch mean)')
    ax_v.set_ylabel('validation accuracy (%)')
    for ax in (ax_l, ax_v):
        epoch_axis(ax)
        mark_stages(ax, switches)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_by_metric(curves: Sequence[dict], names: Sequence[str],
                   val_keys: Sequence[str]):
    """One panel per validation key, one line per log: where runs cross
    is visible at a glance. Logs whose name shares the part before the
    last space (``'SHIKE s0'``, ``'SHIKE s1'``) share a colour.

    Returns:
        matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    keys = [k for k in val_keys if any(k in c['val'] for c in curves)]
    if not keys:
        raise ValueError(f'no log has any of the validation keys {val_keys}')
    cols = min(len(keys), 2)
    rows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(
        rows, cols, figsize=(5 * cols, 3.4 * rows), squeeze=False)
    groups = list(dict.fromkeys(n.rsplit(' ', 1)[0] for n in names))
    colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
    styles = ['-', '--', ':', '-.']
    seen: Dict[str, int] = {}
    for c, name in zip(curves, names):
        group = name.rsplit(' ', 1)[0]
        colour = colours[groups.index(group) % len(colours)]
        ls = styles[seen.get(group, 0) % len(styles)]
        seen[group] = seen.get(group, 0) + 1
        for ax, key in zip(axes.flat, keys):
            per = c['val'].get(key)
            if per:
                e = sorted(per)
                ax.plot(e, [per[x] for x in e], color=colour, ls=ls,
                        marker='.', ms=3, label=name)
    switches = sorted({s for c in curves
                       for s in c.get('stage_switches', [])})
    for ax, key in zip(axes.flat, keys):
        ax.set_title(key.split('/')[-1])
        epoch_axis(ax)
        mark_stages(ax, switches)
        ax.set_ylabel('validation accuracy (%)')
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def main(argv=None):
    args = parse_args(argv)
    runs = [find_scalars(p) for p in args.logs]
    names = list(args.names or [])
    if names and len(names) != len(runs):
        raise ValueError(f'--names has {len(names)} names for '
                         f'{len(runs)} logs')
    names = names or list(args.logs)
    curves = [
        join_curves([epoch_curves(f, args.val_keys) for f in files])
        for files in runs
    ]
    for c, files in zip(curves, runs):
        # the latest run of a work dir holds the recipe it ended with
        c['stage_switches'] = stage_switches(files[-1])
    print(tables(curves, names))
    fig = (plot_by_metric(curves, names, args.val_keys)
           if args.by_metric else plot(curves, names))
    save_figure(fig, args.out)
    print(f'figure written to {args.out}')
    return fig, curves


if __name__ == '__main__':
    main()
