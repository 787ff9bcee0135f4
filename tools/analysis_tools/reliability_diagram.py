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


def plot(result: Dict[str, dict], title: str = ''):
    """One panel per subset: bin accuracy as bars, the gap to the diagonal
    shaded.

    Returns:
        matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    names = list(result)
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.4),
                             squeeze=False)
    for ax, name in zip(axes[0], names):
        r = result[name]
        bins = r['bins']
        edges = bins['edges']
        width = edges[1] - edges[0]
        centres = edges[:-1] + width / 2
        used = bins['count'] > 0
        colour = GROUP_COLOURS.get(name, '#4C72B0')
        ax.bar(centres[used], bins['accuracy'][used], width=width,
               color=colour, edgecolor='black', lw=0.5, label='accuracy')
        ax.bar(centres[used],
               bins['confidence'][used] - bins['accuracy'][used],
               bottom=bins['accuracy'][used], width=width, color='#C44E52',
               alpha=0.3, edgecolor='#C44E52', lw=0.5, label='gap')
        ax.plot([0, 1], [0, 1], 'k--', lw=1)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel('confidence')
        ax.set_title(f'{name} ({r["images"]} imgs)\nECE {r["ece"]:.2f}%, '
                     f'NLL {r["nll"]:.3f}', fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel('accuracy')
    axes[0][0].legend(fontsize=8, loc='upper left')
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
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
