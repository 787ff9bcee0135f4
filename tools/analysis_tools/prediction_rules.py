# Copyright (c) shike-mm contributors. All rights reserved.
"""Evaluate one checkpoint under several prediction rules that need no
training, from one inference pass.

The backbone and neck run once over the config's test set; the pooled
features the head takes are kept, and every rule is a different head
computation on them:

- ``as trained``: the logits the model predicts with (the head's
  ``predict``: the mean of the experts' logits for a multi-expert head,
  routed when the head is in router mode; the adjusted logits for
  ``PostHocAdjustedHead``).
- ``LA tau=t`` (post-hoc logit adjustment, Menon et al., ICLR 2021):
  ``argmax_c z_c - t * log pi_c`` with ``z`` the raw logits (mean of the
  experts' raw logits; the wrapped head's for ``PostHocAdjustedHead``) and
  ``pi`` the training prior ``n_c / sum_j n_j`` (counts clamped to >= 1,
  as ``PostHocAdjustedHead`` does). Default grid t in 0.5, 1, 1.5, 2.
- ``tau-norm t`` (Kang et al., ICLR 2020): every linear classifier's
  weight rows replaced by ``W_c / ||W_c||^t`` (a bias is kept, as in
  ``PostHocAdjustedHead``); for several experts, the mean of their
  logits. Cosine classifiers (SHIKE, RIDE, ``CosineClsHead``) normalise
  their weights already, so the rule changes nothing and is left out with
  a note. Default grid t in 0.5, 1, 1.5, 2.
- for a multi-expert head: ``expert m`` (each expert's own logits) and
  ``mean of experts`` (of all experts, no routing).

Columns: top-1 on the balanced test set, the many / medium / few-shot
means of the per-class accuracies (:class:`LongTailAccuracy`'s groups),
top-1 on the forward-LT 50, uniform and backward-LT 50 subsets of
:class:`ShiftedDistributionAccuracy` (seed 0), and the ECE (15 bins,
percent) and NLL of :class:`CalibrationError` on the softmax of the rule's
logits. The training class counts come from the checkpoint
(``meta.class_counts``, stored by ``ClassCountsHook``), else from the
config's training set.

Example::

    python tools/analysis_tools/prediction_rules.py CONFIG CKPT
    python tools/analysis_tools/prediction_rules.py CONFIG CKPT \\
        --la-tau 0.5 1 2 --norm-tau 1 --out work_dirs/rules.md
"""
import os
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from shike_mm.analysis.cli import add_common_args, tool_parser
from shike_mm.analysis.lt_analysis import (
    fmt, format_table, per_class_accuracy, shot_groups)
from shike_mm.analysis.rule_logits import (  # noqa: F401
    Features, load_features, rule_logits)
from shike_mm.evaluation import (CalibrationError,
                                 ShiftedDistributionAccuracy)
from shike_mm.structures import FEW_SHOT_THR, MANY_SHOT_THR  # noqa: E402

SHIFTS = (('fwd-LT 50', 'forward50'), ('uniform', 'uniform'),
          ('bwd-LT 50', 'backward50'))


# ----------------------------------------------------------------------
# scores and table
# ----------------------------------------------------------------------
def score(logits: torch.Tensor, labels: np.ndarray,
          class_counts: Sequence[int], many_shot_thr: int = MANY_SHOT_THR,
          few_shot_thr: int = FEW_SHOT_THR) -> Dict[str, float]:
    """Top-1, group means, shifted top-1 and calibration of one rule.

    Args:
        logits (Tensor): (N, C).
        labels (np.ndarray): (N, ), dataset order.
        class_counts (Sequence[int]): C training counts.

    Returns:
        dict[str, float]: ``top-1``, ``many``, ``medium``, ``few``, the
        ``SHIFTS`` labels, ``ECE`` (percent) and ``NLL``.
    """
    z = logits.double()
    probs = torch.softmax(z, dim=1).numpy()
    pred = z.argmax(1).numpy()
    correct = pred == labels
    C = z.shape[1]
    out = {'top-1': float(correct.mean() * 100.)}
    per_class = per_class_accuracy(z.numpy(), labels, C)
    for group, mask in shot_groups(class_counts, many_shot_thr,
                                   few_shot_thr).items():
        values = per_class[mask]
        values = values[~np.isnan(values)]
        out[group] = float(values.mean()) if values.size else float('nan')
    sda = ShiftedDistributionAccuracy
    available = np.bincount(labels, minlength=C)
    n_max = int(available[available > 0].min())
    order = sda.class_order(class_counts, C)
    dists = sda.distributions()
    for label, name in SHIFTS:
        factor, reverse = dists[name]
        keep = sda.subsample(labels, np.arange(labels.size),
                             sda.shifted_class_counts(n_max, order, factor,
                                                      reverse), seed=0)
        out[label] = float(correct[keep].mean() * 100.)
    out['ECE'] = CalibrationError.expected_calibration_error(
        probs.max(1), correct, 15) * 100.
    out['NLL'] = CalibrationError.negative_log_likelihood(
        probs[np.arange(labels.size), labels])
    return out


COLUMNS = ('top-1', 'many', 'medium', 'few') + tuple(
    label for label, _ in SHIFTS) + ('ECE', 'NLL')


def rules_table(scores: Dict[str, Dict[str, float]]) -> str:
    """Markdown table, one row per rule."""
    rows = [[name] + [fmt(s[c]) for c in COLUMNS]
            for name, s in scores.items()]
    return format_table(('rule', ) + COLUMNS, rows)


def parse_args(argv=None):
    parser = tool_parser(__file__, __doc__)
    parser.add_argument('config', help='config of the model')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument(
        '--la-tau', type=float, nargs='*', default=[0.5, 1.0, 1.5, 2.0],
        help='logit-adjustment temperatures (default 0.5 1 1.5 2)')
    parser.add_argument(
        '--norm-tau', type=float, nargs='*', default=[0.5, 1.0, 1.5, 2.0],
        help='tau-normalisation exponents (default 0.5 1 1.5 2)')
    parser.add_argument(
        '--rules', nargs='+', default=None,
        help='print only these rows, e.g. "as trained"')
    add_common_args(parser, out_help='also write the table to this file',
                    out_required=False)
    return parser.parse_args(argv)


def main(argv=None, features: Optional[Features] = None):
    """Run the tool; ``features`` skips the model (for tests). Returns
    the scores, rule name to column to value."""
    args = parse_args(argv)
    if features is None:
        features = load_features(args.config, args.checkpoint,
                                 args.cfg_options, args.device)
    rules, notes = rule_logits(features, args.la_tau, args.norm_tau)
    if args.rules:
        unknown = set(args.rules) - set(rules)
        if unknown:
            raise ValueError(f'unknown rules {sorted(unknown)}; this model '
                             f'has {list(rules)}')
        rules = {k: v for k, v in rules.items() if k in args.rules}
    scores = {
        name: score(z, features.labels, features.class_counts,
                    args.many_shot_thr, args.few_shot_thr)
        for name, z in rules.items()
    }
    text = [
        f'{args.checkpoint}: {features.labels.size} test images, class '
        f'counts from {features.counts_source or "the caller"}; accuracies '
        'and ECE in %, NLL in nats.', '',
        rules_table(scores)
    ] + [f'\n{n}' for n in notes]
    text = '\n'.join(text)
    print(text)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(text + '\n')
    return scores


if __name__ == '__main__':
    main()
