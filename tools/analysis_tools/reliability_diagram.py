# Copyright (c) shike-mm contributors. All rights reserved.
"""Reliability diagram of a checkpoint: accuracy against confidence in 15
equal-width bins, over all test images and within the many / medium /
few-shot groups (by the true class), with the ECE and NLL of
:class:`shike_mm.evaluation.CalibrationError`.

The probabilities are those the model predicts with: the softmax of the
logits its head's ``predict`` uses (for SHIKE / RIDE the mean of the
experts' logits, not the mean of their softmaxes; for
``PostHocAdjustedHead`` the adjusted logits), computed from one pass over
the config's test set. ``--rule`` draws another rule of
``prediction_rules.py`` instead (e.g. ``"LA tau=1"``). Prints the numbers
behind the figure.

Example::

    python tools/analysis_tools/reliability_diagram.py CONFIG CKPT \\
        --out work_dirs/reliability.png
"""
import os.path as osp
from typing import Dict, Optional

import numpy as np
import torch

from shike_mm.analysis.cli import (add_common_args, tool_parser,
                                   use_headless_backend)
from shike_mm.analysis.lt_analysis import (
    GROUP_COLOURS, fmt, format_table, save_figure, shot_groups)
from shike_mm.analysis.rule_logits import (
    Features, load_features, rule_logits)
from shike_mm.evaluation import CalibrationError
from shike_mm.structures import FEW_SHOT_THR, MANY_SHOT_THR

use_headless_backend()  # files only: no display needed


def parse_args(argv=None):
    parser = tool_parser(__file__, __doc__)
    parser.add_argument('config', help='config of the model')
    parser.add_argument('checkpoint', help='its checkpoint')
    add_common_args(parser)
    parser.add_argument(
        '--bins', type=int, default=15, help='confidence bins (default 15)')
    parser.add_argument(
        '--rule', default='as trained',
        help='prediction rule of prediction_rules.py (default: as trained)')
    return parser.parse_args(argv)


def calibration(probs: np.ndarray, labels: np.ndarray, class_counts,
                num_bins: int = 15, many_shot_thr: int = MANY_SHOT_THR,
                few_shot_thr: int = FEW_SHOT_THR) -> Dict[str, dict]:
    """Bins, ECE (percent), NLL, accuracy and size of every subset.

    Args:
        probs (np.ndarray): (N, C) probabilities.
        labels (np.ndarray): (N, ) ground truth.
        class_counts (Sequence[int]): C training counts.

    Returns:
        dict: ``all``, ``many``, ``medium``, ``few`` (a group without test
        images left out) to ``dict(bins, ece, nll, top1, images)``.
    """
    conf = probs.max(1)
    correct = probs.argmax(1) == labels
    true_prob = probs[np.arange(labels.size), labels]
    subsets = dict(all=np.ones(labels.size, dtype=bool))
    for g, mask in shot_groups(class_counts, many_shot_thr,
                               few_shot_thr).items():
        subsets[g] = mask[labels]
    out = {}
    for name, m in subsets.items():
        if not m.any():
            continue
        out[name] = dict(
            bins=CalibrationError.reliability_bins(conf[m], correct[m],
                                                   num_bins),
            ece=CalibrationError.expected_calibration_error(
                conf[m], correct[m], num_bins) * 100.,
            nll=CalibrationError.negative_log_likelihood(true_prob[m]),
            top1=float(correct[m].mean() * 100.),
            confidence=float(conf[m].mean() * 100.),
            images=int(m.sum()))
    return out


def tables(result: Dict[str, dict]) -> str:
    """The numbers behind the figure."""
    rows = [[name, fmt(r['images']), fmt(r['top1']), fmt(r['confidence']),
             fmt(r['ece']), fmt(r['nll'], 3)] for name, r in result.items()]
    text = ['Calibration by the true class\'s shot group (%, NLL in nats):',
            format_table(['subset', 'images', 'top-1', 'mean confidence',
                          'ECE', 'NLL'], rows), '']
    bins = result['all']['bins']
    edges = bins['edges']
    rows = [[f'({edges[b]:.3f}, {edges[b + 1]:.3f}]', fmt(int(
        bins['count'][b])), fmt(bins['accuracy'][b] * 100.),
             fmt(bins['confidence'][b] * 100.)]
            for b in range(edges.size - 1)]
    text += ['Bins over all test images:',
             format_table(['confidence', 'images', 'accuracy',
                           'mean confidence'], rows)]
    return '\n'.join(text)


#: Bar colour of the panel over all test images (the groups' panels use
#: ``GROUP_COLOURS``, the colours of the many / medium / few shading in
#: the other figures).
ALL_COLOUR = '#8C8C8C'
#: Hatched boxes between a bin's accuracy and its mean confidence.
OVER_COLOUR, UNDER_COLOUR = '#8B0000', 'black'


def plot(result: Dict[str, dict], title: str = ''):
    """One panel per subset: bin accuracy as bars in the subset's colour
    (all images grey, many / medium / few as in the other figures), a
    hatched box from a bin's accuracy up to its mean confidence where the
    model is over-confident (confidence above accuracy) or down to it
    where it is under-confident, and the diagonal of perfect calibration.
    One legend, shared by the panels, below them.

    Returns:
        matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    names = list(result)
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.9),
                             squeeze=False)
    for ax, name in zip(axes[0], names):
        r = result[name]
        bins = r['bins']
        edges = bins['edges']
        width = edges[1] - edges[0]
        centres = edges[:-1] + width / 2
        used = bins['count'] > 0
        acc, conf = bins['accuracy'][used], bins['confidence'][used]
        ax.bar(centres[used], acc, width=width,
               color=GROUP_COLOURS.get(name, ALL_COLOUR), edgecolor='black',
               lw=0.5)
        for sign, colour, hatch in ((1, OVER_COLOUR, '///'),
                                    (-1, UNDER_COLOUR, '\\\\\\')):
            gap = np.where(sign * (conf - acc) > 0, conf - acc, 0.)
            ax.bar(centres[used], gap, bottom=acc, width=width, fill=False,
                   hatch=hatch, edgecolor=colour, lw=0.6)
        ax.plot([0, 1], [0, 1], 'k--', lw=1)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel('confidence')
        ax.set_title(f'{name} ({r["images"]} imgs)\nECE {r["ece"]:.2f}%, '
                     f'NLL {r["nll"]:.3f}', fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel('accuracy')
    accuracy = [
        Patch(facecolor=GROUP_COLOURS.get(n, ALL_COLOUR), edgecolor='black',
              lw=0.5, label=f'accuracy, {n}' if n in GROUP_COLOURS else
              'accuracy, all images') for n in names]
    others = [
        Patch(fill=False, hatch='///', edgecolor=OVER_COLOUR,
              label='over-confident: mean confidence above accuracy'),
        Patch(fill=False, hatch='\\\\\\', edgecolor=UNDER_COLOUR,
              label='under-confident: mean confidence below accuracy'),
        Line2D([], [], color='black', ls='--', lw=1,
               label='perfect calibration')]
    # legends fill column by column: interleave so that the accuracy
    # entries form the first row and the gaps and the diagonal the second
    ncol = max(len(accuracy), len(others))
    handles = [h for col in range(ncol)
               for h in (accuracy[col:col + 1] + others[col:col + 1])]
    fig.legend(handles=handles, loc='lower center', ncol=ncol, fontsize=8,
               frameon=False)
    if title:
        fig.suptitle(title, fontsize=9)
    # room below the panels for the shared legend (two rows)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    return fig


def main(argv=None, features: Optional[Features] = None):
    """Run the tool; ``features`` skips the model (for tests). Returns
    ``(figure, result)``."""
    args = parse_args(argv)
    if features is None:
        features = load_features(args.config, args.checkpoint,
                                 args.cfg_options, args.device)
    rules, _ = rule_logits(features)
    if args.rule not in rules:
        raise ValueError(f'unknown rule {args.rule!r}; this model has '
                         f'{list(rules)}')
    probs = torch.softmax(rules[args.rule].double(), dim=1).numpy()
    result = calibration(probs, features.labels, features.class_counts,
                         args.bins, args.many_shot_thr, args.few_shot_thr)
    print(tables(result))
    fig = plot(result, f'{osp.basename(args.checkpoint)}: {args.rule}')
    save_figure(fig, args.out)
    print(f'figure written to {args.out}')
    return fig, result


if __name__ == '__main__':
    main()
