# Copyright (c) shike-mm contributors. All rights reserved.
"""Which expert of a multi-expert model is best at which classes.

Fig. 3 of the SHIKE paper (Jin et al., CVPR 2023): (a) for every class the
highest test accuracy among the experts, coloured by the expert that
reaches it, classes ordered by training images; (b) within the many /
medium / few-shot groups, the share of classes each expert is best at.
A class on which k experts tie for the best accuracy counts 1/k for each of
them (hatched bars in (a), coloured by the first of them). Classes without
test images are left out. The experts' logits are those the model predicts
with (after SHIKE's stage 2: the retrained classifiers). Prints the numbers
behind the figure.

Example::

    python tools/analysis_tools/expert_preference.py CONFIG CKPT \\
        --out work_dirs/expert_preference.png
"""
from typing import Dict, List, Optional

import numpy as np

from shike_mm.analysis.cli import (add_common_args, tool_parser,
                                   use_headless_backend)
from shike_mm.analysis.lt_analysis import (
    GROUP_COLOURS, GROUPS, Logits, fmt, format_table, group_of, load_logits,
    per_class_accuracy, save_figure, shot_groups)
from shike_mm.structures import FEW_SHOT_THR, MANY_SHOT_THR

use_headless_backend()  # files only: no display needed

#: The experts' colours: none is a shade of the many / medium / few
#: colours (``GROUP_COLOURS``, blue / green / red) that mark the groups in
#: the same figure, so an expert is not read as a group.
EXPERT_COLOURS = ('#8172B3', '#DD8452', '#937860', '#DA8BC3', '#CCB974',
                  '#64B5CD', '#8C8C8C', '#1B1B1B')


def parse_args(argv=None):
    parser = tool_parser(__file__, __doc__)
    parser.add_argument('config', help='config of a multi-expert model')
    parser.add_argument('checkpoint', help='its checkpoint')
    add_common_args(parser)
    return parser.parse_args(argv)


def expert_accuracy(model: Logits) -> np.ndarray:
    """(M, C) top-1 accuracy (%) of every expert on every class."""
    if model.experts is None:
        raise ValueError(f'{model.name}: no per-expert logits; the expert '
                         'preference needs a multi-expert head')
    return np.stack([
        per_class_accuracy(z, model.labels, model.num_classes)
        for z in model.experts
    ])


def winners(acc: np.ndarray) -> List[List[int]]:
    """For every class, the experts (0-based) with the highest accuracy;
    ``[]`` for a class without test images (NaN)."""
    out = []
    for c in range(acc.shape[1]):
        col = acc[:, c]
        if np.isnan(col).all():
            out.append([])
        else:
            out.append([int(m) for m in np.flatnonzero(col == np.nanmax(col))])
    return out


def shares(win: List[List[int]], num_experts: int,
           groups: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Per group, the percentage of its classes (with test images) each
    expert is best at; a k-way tie gives 1/k to each. (M, ) per group, NaN
    for a group without classes."""
    out = {}
    for g in GROUPS:
        total = np.zeros(num_experts)
        n = 0
        for c in np.flatnonzero(groups[g]):
            if win[c]:
                n += 1
                total[win[c]] += 1. / len(win[c])
        out[g] = total / n * 100. if n else np.full(num_experts, np.nan)
    return out


def tables(model: Logits, acc: np.ndarray, win: List[List[int]],
           share: Dict[str, np.ndarray], many_shot_thr: int = MANY_SHOT_THR,
           few_shot_thr: int = FEW_SHOT_THR) -> str:
    """The per-class table and the share table behind the figure."""
    counts = model.class_counts
    names = model.class_names
    groups = group_of(counts, many_shot_thr, few_shot_thr)
    ens = per_class_accuracy(model.ensemble, model.labels, model.num_classes)
    M = acc.shape[0]
    rows = []
    for c in np.argsort(-np.asarray(counts), kind='stable'):
        rows.append([f'{c} {names[c]}' if names else c, fmt(counts[c]),
                     groups[c]] + [fmt(a) for a in acc[:, c]] +
                    [fmt(ens[c]),
                     '+'.join(str(m + 1) for m in win[c]) or 'n/a'])
    text = ['Per-class top-1 accuracy (%) of every expert and of the model, '
            'best expert(s) (1-based):',
            format_table(['class', 'train imgs', 'group'] +
                         [f'expert {m + 1}' for m in range(M)] +
                         ['model', 'best'], rows), '']
    masks = shot_groups(counts, many_shot_thr, few_shot_thr)
    rows = []
    for g in GROUPS:
        n = sum(1 for c in np.flatnonzero(masks[g]) if win[c])
        rows.append([g, n] + [fmt(s, 1) for s in share[g]])
    text += ['Share of the classes (%) each expert is best at, per group '
             '(a k-way tie counts 1/k):',
             format_table(['group', 'classes'] +
                          [f'expert {m + 1}' for m in range(M)], rows)]
    return '\n'.join(text)


def plot(model: Logits, acc: np.ndarray, win: List[List[int]],
         share: Dict[str, np.ndarray], many_shot_thr: int = MANY_SHOT_THR,
         few_shot_thr: int = FEW_SHOT_THR):
    """(a) C bars, best-expert accuracy per class by training images;
    (b) 3 x M bars, the shares.

    Returns:
        matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    M, C = acc.shape
    colour = [EXPERT_COLOURS[m % len(EXPERT_COLOURS)] for m in range(M)]
    counts = np.asarray(model.class_counts)
    order = np.argsort(-counts, kind='stable')
    fig, (ax_a, ax_b) = plt.subplots(
        1, 2, figsize=(10, 3.8), gridspec_kw=dict(width_ratios=[1.6, 1]))

    groups = group_of(counts, many_shot_thr, few_shot_thr)
    best = np.where(np.isnan(acc), 0., acc).max(0)  # 0 without test images
    x = np.arange(C)
    bars = ax_a.bar(x, best[order], width=0.8 if C <= 50 else 1.0,
                    color=[colour[win[c][0]] if win[c] else 'lightgrey'
                           for c in order], lw=0)
    for bar, c in zip(bars, order):
        if len(win[c]) > 1:
            bar.set_hatch('//')
            bar.set_edgecolor('white')
    for g in GROUPS:  # group bands along the class axis
        idx = [i for i, c in enumerate(order) if groups[c] == g]
        if idx:
            ax_a.axvspan(min(idx) - 0.5, max(idx) + 0.5,
                         color=GROUP_COLOURS[g], alpha=0.12, lw=0, zorder=0)
            ax_a.text((min(idx) + max(idx)) / 2, 1.01, g, ha='center',
                      va='bottom', fontsize=8, color=GROUP_COLOURS[g],
                      transform=ax_a.get_xaxis_transform())
    ax_a.set_xlim(-0.5, C - 0.5)
    ax_a.set_ylim(0, 119)  # room for the legend above 100 %
    ax_a.set_yticks(range(0, 101, 20))
    if C <= 30:
        names = model.class_names
        ax_a.set_xticks(x)
        ax_a.set_xticklabels(
            [f'{names[c]} ({counts[c]})' if names else f'{c} ({counts[c]})'
             for c in order], rotation=60, ha='right', fontsize=7)
    ax_a.set_xlabel('classes, most training images first')
    ax_a.set_ylabel('best expert accuracy (%)')
    ax_a.set_title('(a) highest accuracy among the experts', fontsize=9,
                   pad=14)
    handles = [Patch(color=colour[m], label=f'expert {m + 1}')
               for m in range(M)]
    if any(len(w) > 1 for w in win):
        handles.append(Patch(facecolor='grey', hatch='//', edgecolor='white',
                             label='tie (first expert\'s colour)'))
    ax_a.legend(handles=handles, fontsize=7, loc='upper center',
                ncol=len(handles), handlelength=1.5, columnspacing=1.0)

    width = 0.8 / M
    for m in range(M):
        ax_b.bar(np.arange(len(GROUPS)) + (m - (M - 1) / 2) * width,
                 [np.nan_to_num(share[g][m]) for g in GROUPS], width,
                 color=colour[m], label=f'expert {m + 1}')
    ax_b.set_xticks(np.arange(len(GROUPS)))
    ax_b.set_xticklabels(GROUPS)
    ax_b.set_ylim(0, 119)
    ax_b.set_yticks(range(0, 101, 20))
    ax_b.set_ylabel('share of the group\'s classes (%)')
    ax_b.set_title('(b) classes each expert is best at', fontsize=9)
    ax_b.legend(fontsize=7, loc='upper center', ncol=M)
    ax_b.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    return fig


def main(argv=None, model: Optional[Logits] = None):
    """Run the tool; ``model`` skips loading (for tests)."""
    args = parse_args(argv)
    if model is None:
        model = load_logits(args.config, args.checkpoint, True,
                            args.cfg_options, args.device)
    acc = expert_accuracy(model)
    win = winners(acc)
    share = shares(win, acc.shape[0],
                   shot_groups(model.class_counts, args.many_shot_thr,
                               args.few_shot_thr))
    print(tables(model, acc, win, share, args.many_shot_thr,
                 args.few_shot_thr))
    fig = plot(model, acc, win, share, args.many_shot_thr, args.few_shot_thr)
    save_figure(fig, args.out)
    print(f'figure written to {args.out}')
    return fig, acc, win, share


if __name__ == '__main__':
    main()
