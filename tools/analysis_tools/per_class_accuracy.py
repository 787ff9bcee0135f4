# Copyright (c) shike-mm contributors. All rights reserved.
"""Per-class test accuracy against the class's number of training images.

One point per class, x = training images (log scale) with the few /
medium / many-shot ranges shaded, y = top-1 accuracy of the class on the
config's test set. ``--per-expert`` draws every expert of a multi-expert
model, the best expert of each class (what Fig. 1 of the SHIKE paper,
Jin et al., CVPR 2023, shows for three branches of a ResNet-32) and the
model's own prediction; ``--compare`` overlays a second model, e.g. SHIKE
against a baseline. Prints the numbers behind the figure.

Examples::

    python tools/analysis_tools/per_class_accuracy.py CONFIG CKPT \\
        --out work_dirs/per_class.png
    python tools/analysis_tools/per_class_accuracy.py SHIKE_CFG SHIKE_CKPT \\
        --compare BASELINE_CKPT --compare-config BASELINE_CONFIG \\
        --names SHIKE baseline --out work_dirs/per_class.png
    python tools/analysis_tools/per_class_accuracy.py CONFIG CKPT \\
        --per-expert --out work_dirs/experts.png
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np

from shike_mm.analysis.cli import (add_common_args, tool_parser,
                                   use_headless_backend)
from shike_mm.analysis.lt_analysis import (
    GROUPS, Logits, fmt, format_table, group_means, group_of, load_logits,
    per_class_accuracy, save_figure, shade_groups, shot_groups)
from shike_mm.structures import FEW_SHOT_THR, MANY_SHOT_THR

use_headless_backend()  # files only: no display needed


def parse_args(argv=None):
    parser = tool_parser(__file__, __doc__)
    parser.add_argument('config', help='config of the model')
    parser.add_argument('checkpoint', help='checkpoint of the model')
    parser.add_argument(
        '--per-expert',
        action='store_true',
        help='one series per expert, the best expert per class and the '
        'model (multi-expert heads only)')
    parser.add_argument(
        '--compare',
        metavar='CKPT2',
        help='overlay the prediction of a second checkpoint')
    parser.add_argument(
        '--compare-config',
        metavar='CONFIG2',
        help='config of --compare (default: the first config)')
    parser.add_argument(
        '--names',
        nargs='+',
        help='legend names of the model (and of --compare); default the '
        'first word of each config\'s file name (e.g. "shike", "bsce")')
    add_common_args(parser)
    return parser.parse_args(argv)


def default_names(configs: Sequence[str]) -> List[str]:
    """Short legend names for models without ``--names``: the first word
    of each config's file name (``shike_r32_....py`` -> ``shike``); when
    two are equal, ``model 1``, ``model 2`` ...

    Args:
        configs (Sequence[str]): The config file of each model.

    Returns:
        list[str]: One name per config.
    """
    names = [osp.basename(c).split('_')[0].split('.')[0] for c in configs]
    if len(set(names)) < len(names):
        names = [f'model {i + 1}' for i in range(len(configs))]
    return names


def series_of(model: Logits, name: str, per_expert: bool,
              prefix: bool = True) -> List[Tuple[str, np.ndarray, str]]:
    """``(label, per-class accuracy (C, ), kind)`` of every series of a
    model: with ``per_expert`` expert 1..M (kind ``'expert'``), the best
    expert of each class (``'best'``) and the model's prediction
    (``'model'``), else the prediction only.

    Args:
        model (Logits): The model's logits.
        name (str): Its name: the label of its prediction.
        per_expert (bool): Add the experts and the best expert.
        prefix (bool): Start the experts' labels with ``name`` (needed
            only to tell two models apart).
    """
    C = model.num_classes
    out = []
    if per_expert:
        experts = [per_class_accuracy(z, model.labels, C)
                   for z in model.experts]
        head = f'{name} ' if prefix else ''
        out += [(f'{head}expert {m + 1}', acc, 'expert')
                for m, acc in enumerate(experts)]
        out.append((f'{head}best expert', np.max(np.stack(experts), 0),
                    'best'))
    out.append((name, per_class_accuracy(model.ensemble, model.labels, C),
                'model'))
    return out


def tables(models: Sequence[Logits],
           series: Sequence[Tuple[str, np.ndarray, str]],
           many_shot_thr: int = MANY_SHOT_THR,
           few_shot_thr: int = FEW_SHOT_THR) -> str:
    """The per-class table and the group table behind the figure."""
    counts = models[0].class_counts
    names = models[0].class_names or [str(c) for c in range(len(counts))]
    groups = group_of(counts, many_shot_thr, few_shot_thr)
    order = np.argsort(-np.asarray(counts), kind='stable')
    rows = [[f'{c} {names[c]}' if models[0].class_names else c,
             fmt(counts[c]), groups[c]] + [fmt(acc[c]) for _, acc, _ in series]
            for c in order]
    text = ['Per-class top-1 accuracy (%) on the test set, classes by '
            'training images:',
            format_table(['class', 'train imgs', 'group'] +
                         [s for s, _, _ in series], rows), '']
    masks = shot_groups(counts, many_shot_thr, few_shot_thr)
    sizes = {g: int(masks[g].sum()) for g in GROUPS}
    rows = []
    for label, acc, _ in series:
        means = group_means(acc, masks)
        rows.append([label, fmt(float(np.nanmean(acc)))] +
                    [fmt(means[g]) for g in GROUPS])
    text += ['Mean of the per-class accuracies (%) per group (classes: ' +
             ', '.join(f'{sizes[g]} {g}' for g in GROUPS) + '):',
             format_table(['series', 'all classes'] + list(GROUPS), rows)]
    overall = [[m.name, fmt(len(m.labels)),
                fmt(float((m.ensemble.argmax(1) == m.labels).mean() * 100))]
               for m in models]
    text += ['', 'Prediction of each model over all test images:',
             format_table(['model', 'test imgs', 'top-1 %'], overall)]
    return '\n'.join(text)


def plot(models: Sequence[Logits],
         series: Sequence[Tuple[str, np.ndarray, str]],
         many_shot_thr: int = MANY_SHOT_THR,
         few_shot_thr: int = FEW_SHOT_THR):
    """The figure: one line (with markers) per series, classes ordered by
    training images on a log x axis.

    Returns:
        matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    counts = np.asarray(models[0].class_counts)
    order = np.argsort(counts, kind='stable')
    x = np.maximum(counts[order], 1)  # 0-count classes at 1 on a log axis
    fig, ax = plt.subplots(figsize=(8, 4))
    shade_groups(ax, x, many_shot_thr, few_shot_thr)
    many = len(counts) > 30
    for label, acc, kind in series:
        ax.plot(x, acc[order], marker='o', ms=3 if many else 5,
                ls='none' if many else ('-' if kind != 'best' else ':'),
                lw=2 if kind == 'model' else 1,
                alpha=0.9 if kind == 'model' else 0.7, label=label)
    ax.set_xlabel('training images of the class (log scale)')
    ax.set_ylabel('test top-1 accuracy of the class (%)')
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc='center left', bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def main(argv=None, models: Optional[Sequence[Logits]] = None):
    """Run the tool; ``models`` skips loading (for tests)."""
    args = parse_args(argv)
    if models is None:
        configs = [args.config]
        if args.compare:
            configs.append(args.compare_config or args.config)
        names = list(args.names or [])
        if len(names) < len(configs):
            names += default_names(configs)[len(names):]
        models = [load_logits(args.config, args.checkpoint, args.per_expert,
                              args.cfg_options, args.device, names[0])]
        if args.compare:
            models.append(load_logits(
                configs[1], args.compare, False, args.cfg_options,
                args.device, names[1]))
    if len(models) == 2 and models[0].class_counts != models[1].class_counts:
        raise ValueError(
            'the two models were trained on different class counts: '
            f'{models[0].class_counts} vs {models[1].class_counts}')
    series = series_of(models[0], models[0].name, args.per_expert,
                       prefix=len(models) > 1)
    for m in models[1:]:
        series += series_of(m, m.name, False)
    print(tables(models, series, args.many_shot_thr, args.few_shot_thr))
    fig = plot(models, series, args.many_shot_thr, args.few_shot_thr)
    save_figure(fig, args.out)
    print(f'figure written to {args.out}')
    return fig, series


if __name__ == '__main__':
    main()
