# Copyright (c) shike-mm contributors. All rights reserved.
"""How much probability a model gives its hardest negative class.

For every test image, the softmax of the model's prediction logits (the
mean of the experts' for a multi-expert model) and the largest probability
among the classes that are *not* its label: the hardest negative. Fig. 4
of the SHIKE paper (Jin et al., CVPR 2023) shows its distribution on
CIFAR-100-LT, a single model against SHIKE, whose DKT suppresses the
hardest negatives. Here: one histogram per model in each of the many /
medium / few-shot groups (the group of the image's true class), as the
fraction of the group's test images per probability bin, for one or two
checkpoints. Prints the numbers behind the figure.

Examples::

    python tools/analysis_tools/hardest_negative.py CONFIG CKPT \\
        --out work_dirs/hardest_negative.png
    python tools/analysis_tools/hardest_negative.py SHIKE_CONFIG SHIKE_CKPT \\
        --compare BASELINE_CKPT --compare-config BASELINE_CONFIG \\
        --names SHIKE baseline --out work_dirs/hardest_negative.png
"""
from typing import Dict, Optional, Sequence

import numpy as np

from shike_mm.analysis.cli import (add_common_args, tool_parser,
                                   use_headless_backend)
from shike_mm.analysis.lt_analysis import (
    GROUPS, Logits, fmt, format_table, load_logits, save_figure, shot_groups)
from shike_mm.structures import FEW_SHOT_THR, MANY_SHOT_THR

use_headless_backend()  # files only: no display needed


def parse_args(argv=None):
    parser = tool_parser(__file__, __doc__)
    parser.add_argument('config', help='config of the model')
    parser.add_argument('checkpoint', help='checkpoint of the model')
    parser.add_argument(
        '--compare', metavar='CKPT2', help='a second checkpoint, side by side')
    parser.add_argument(
        '--compare-config',
        metavar='CONFIG2',
        help='config of --compare (default: the first config)')
    parser.add_argument(
        '--names', nargs='+', help='names of the model (and of --compare)')
    parser.add_argument(
        '--bins', type=int, default=10, help='bins over [0, 1] (default 10)')
    add_common_args(parser)
    return parser.parse_args(argv)


def hardest_negative_prob(logits: np.ndarray,
                          labels: np.ndarray) -> np.ndarray:
    """``max_{c != y} softmax(z)_c`` of every sample.

    Args:
        logits (np.ndarray): (N, C), C >= 2.
        labels (np.ndarray): (N, ).

    Returns:
        np.ndarray: (N, ) float64 in [0, 1).
    """
    if logits.shape[1] < 2:
        raise ValueError('a hardest negative needs at least two classes')
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] = -1.
    return p.max(axis=1)


def histograms(model: Logits, bins: int, many_shot_thr: int = MANY_SHOT_THR,
               few_shot_thr: int = FEW_SHOT_THR) -> Dict[str, dict]:
    """Per group: the images' hardest-negative probabilities (``values``)
    and the fraction of the group's images in each of ``bins`` equal bins
    over [0, 1] (``fractions``, (bins, ); the last bin includes 1)."""
    hn = hardest_negative_prob(model.ensemble, model.labels)
    in_group = shot_groups(model.class_counts, many_shot_thr, few_shot_thr)
    edges = np.linspace(0., 1., bins + 1)
    out = {}
    for g in GROUPS:
        values = hn[in_group[g][model.labels]]
        counts = np.histogram(values, edges)[0]
        out[g] = dict(values=values, edges=edges,
                      fractions=counts / max(len(values), 1))
    return out


def tables(models: Sequence[Logits], hists: Sequence[Dict[str, dict]]) -> str:
    """Summary statistics and the binned fractions behind the figure."""
    rows = []
    for g in GROUPS:
        for m, h in zip(models, hists):
            v = h[g]['values']
            rows.append([g, m.name, fmt(len(v))] + (
                [fmt(float(v.mean()), 3), fmt(float(np.median(v)), 3),
                 fmt(float((v >= 0.5).mean() * 100), 1)] if len(v) else
                ['n/a'] * 3))
    text = ['Probability of the hardest negative class on the test images, '
            'by the shot group of their true class:',
            format_table(['group', 'model', 'test imgs', 'mean', 'median',
                          '% >= 0.5'], rows), '']
    edges = hists[0][GROUPS[0]]['edges']
    header = ['probability'] + [f'{g} {m.name}' for g in GROUPS
                                for m in models]
    rows = []
    for b in range(len(edges) - 1):
        close = ']' if b == len(edges) - 2 else ')'
        rows.append([f'[{edges[b]:.2f}, {edges[b + 1]:.2f}{close}'] + [
            fmt(float(h[g]['fractions'][b]) * 100, 1) for g in GROUPS
            for h in hists
        ])
    text += ['Share of the group\'s test images per bin (%):',
             format_table(header, rows)]
    return '\n'.join(text)


def plot(models: Sequence[Logits], hists: Sequence[Dict[str, dict]]):
    """Three panels (many, medium, few), one step histogram per model.

    The panel titles give the group's number of test images, and one
    legend below the panels names the models, so that no legend covers a
    histogram or a neighbouring panel.

    Returns:
        matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(GROUPS), figsize=(10, 3.2), sharey=True)
    for ax, g in zip(axes, GROUPS):
        for m, h in zip(models, hists):
            ax.stairs(h[g]['fractions'] * 100, h[g]['edges'], lw=1.5,
                      fill=len(models) == 1, alpha=0.8, label=m.name)
        # one number, or one per model where their test sets differ
        counts = list(dict.fromkeys(len(h[g]['values']) for h in hists))
        counts = ' / '.join(str(n) for n in counts)
        ax.set_title(f'{g}-shot classes ({counts} test imgs)', fontsize=9)
        ax.set_xlabel('probability of the hardest negative')
        ax.set_xlim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel('share of test images (%)')
    fig.tight_layout()
    handles, labels = axes[0].get_legend_handles_labels()
    # below the panels, outside every axes; save_figure's tight bounding
    # box takes it in
    fig.legend(handles, labels, loc='upper center', ncol=len(models),
               bbox_to_anchor=(0.5, 0.), frameon=False, fontsize=9)
    return fig


def main(argv=None, models: Optional[Sequence[Logits]] = None):
    """Run the tool; ``models`` skips loading (for tests)."""
    args = parse_args(argv)
    if args.bins < 1:
        raise ValueError(f'--bins must be positive, got {args.bins}')
    names = args.names or []
    if models is None:
        models = [load_logits(args.config, args.checkpoint, False,
                              args.cfg_options, args.device,
                              names[0] if names else None)]
        if args.compare:
            models.append(load_logits(
                args.compare_config or args.config, args.compare, False,
                args.cfg_options, args.device,
                names[1] if len(names) > 1 else None))
    hists = [histograms(m, args.bins, args.many_shot_thr, args.few_shot_thr)
             for m in models]
    print(tables(models, hists))
    fig = plot(models, hists)
    save_figure(fig, args.out)
    print(f'figure written to {args.out}')
    return fig, hists


if __name__ == '__main__':
    main()
