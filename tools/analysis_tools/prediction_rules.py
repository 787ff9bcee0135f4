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
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from lt_analysis import (add_common_args, build_model, fmt,  # noqa: E402
                         format_table, load_config, per_class_accuracy,
                         shot_groups, tool_parser, training_class_counts)

from shike_mm.evaluation import (CalibrationError,  # noqa: E402
                                 ShiftedDistributionAccuracy)

SHIFTS = (('fwd-LT 50', 'forward50'), ('uniform', 'uniform'),
          ('bwd-LT 50', 'backward50'))


@dataclass
class Features:
    """One inference pass over the test set.

    Attributes:
        feats (tuple[Tensor]): The head's input, each (N, D) float32 on
            the CPU (M tensors for a multi-expert head).
        labels (np.ndarray): (N, ) int64 ground truth, in dataset order.
        class_counts (list[int]): C training images per class.
        head (nn.Module): The model's head (on the CPU, eval mode).
        counts_source (str): Where the counts came from.
    """
    feats: Tuple[torch.Tensor, ...]
    labels: np.ndarray
    class_counts: List[int]
    head: nn.Module
    counts_source: str = ''


# ----------------------------------------------------------------------
# the one inference pass
# ----------------------------------------------------------------------
@torch.no_grad()
def collect_features(model, dataloader, device: str = 'cpu'):
    """Run the backbone and neck over ``dataloader`` once.

    Args:
        model (ImageClassifier): In eval mode on ``device``.
        dataloader (Iterable): mmpretrain batches with ``gt_label``.
        device (str): Where ``model`` is.

    Returns:
        tuple: ``(feats, labels)``: tuple of (N, D) float32 CPU tensors,
        (N, ) int64 array.
    """
    parts, labels = [], []
    for data in dataloader:
        data = model.data_preprocessor(data, False)
        feats = model.extract_feat(data['inputs'].to(device))
        if isinstance(feats, torch.Tensor):
            feats = (feats, )
        parts.append([f.float().cpu() for f in feats])
        labels.append(
            torch.cat([s.gt_label.reshape(-1)[:1]
                       for s in data['data_samples']]).cpu())
    if not labels:
        raise ValueError('the test dataloader is empty')
    feats = tuple(torch.cat(f) for f in zip(*parts))
    return feats, torch.cat(labels).long().numpy()


def checkpoint_class_counts(checkpoint: str) -> Optional[List[int]]:
    """``meta.class_counts`` of a checkpoint, None if it has none."""
    import shike_mm  # noqa: F401  registers the checkpoint allow-list
    ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    counts = (ckpt.get('meta') or {}).get('class_counts') if isinstance(
        ckpt, dict) else None
    return None if counts is None else [int(c) for c in counts]


def load_features(config: str,
                  checkpoint: str,
                  cfg_options: Optional[dict] = None,
                  device: Optional[str] = None) -> Features:
    """Config + checkpoint to :class:`Features` of the config's test set
    (``cfg.test_dataloader``, one pass)."""
    from mmengine.runner import Runner
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    cfg = load_config(config, cfg_options)
    model = build_model(cfg, checkpoint, device)
    if 'test_dataloader' not in cfg:
        raise KeyError(f'{config} has no test_dataloader')
    loader_cfg = cfg.test_dataloader.copy()
    loader_cfg['persistent_workers'] = False
    loader = Runner.build_dataloader(loader_cfg)
    feats, labels = collect_features(model, loader, device)
    head = model.head.cpu().eval()
    counts = checkpoint_class_counts(checkpoint)
    source = 'the checkpoint (meta.class_counts)'
    if counts is None:
        num_classes = getattr(head, 'num_classes', None)
        counts = training_class_counts(cfg, num_classes)
        source = 'the training set of the config'
    return Features(feats, labels, counts, head, source)


# ----------------------------------------------------------------------
# the rules
# ----------------------------------------------------------------------
def multi_expert(head: nn.Module) -> bool:
    """True for a head with per-expert logits (``forward_experts``)."""
    return callable(getattr(head, 'forward_experts', None))


def log_prior(class_counts: Sequence[int]) -> torch.Tensor:
    """``log(n_c / sum_j n_j)``, counts clamped to >= 1, (C, ) float64."""
    counts = torch.tensor(class_counts, dtype=torch.float64).clamp(min=1)
    return (counts / counts.sum()).log()


def expert_logits(head: nn.Module, feats) -> torch.Tensor:
    """Raw logits of every expert, (M, N, C); a single-path head is one
    expert, and ``PostHocAdjustedHead`` gives its wrapped head's raw
    logits."""
    if multi_expert(head):
        return head.forward_experts(feats).float()
    return head(feats).float()[None]


@torch.no_grad()
def predicted_logits(head: nn.Module, feats) -> torch.Tensor:
    """The logits the model predicts with, (N, C): what the head's
    ``predict`` takes the softmax of."""
    if callable(getattr(head, 'adjusted_logits', None)):
        return head.adjusted_logits(feats).float()
    if multi_expert(head):
        z = head.forward_experts(feats)
        if getattr(head, 'routing', False):
            return head.router.predict(head.pre_logits(feats),
                                       z)[0].float()
        return z.float().mean(0)
    return head(feats).float()


def linear_classifiers(head: nn.Module,
                       feats) -> Optional[List[Tuple[nn.Linear,
                                                     torch.Tensor]]]:
    """The linear classifiers of a head with their inputs, for
    tau-normalisation: ``[(classifier, (N, D) input), ...]``, one per
    expert; None when the head's classifier is not ``nn.Linear`` (e.g. a
    cosine classifier)."""
    inner = getattr(head, 'head', None)
    if callable(getattr(head, 'adjusted_logits', None)) and inner is not None:
        head = inner  # PostHocAdjustedHead: the wrapped head
    if multi_expert(head):
        classifiers = head.retrain_classifiers if head.retraining \
            else head.classifiers
        inputs = head.pre_logits(feats)
    else:
        fc = getattr(head, 'fc', None)
        classifiers = [fc]
        inputs = [head.pre_logits(feats)]
    if not all(type(c) is nn.Linear for c in classifiers):
        return None
    return list(zip(classifiers, inputs))


@torch.no_grad()
def tau_norm_logits(parts: List[Tuple[nn.Linear, torch.Tensor]],
                    tau: float) -> torch.Tensor:
    """Mean over the classifiers of ``x W'^T + b`` with
    ``W'_c = W_c / ||W_c||^tau``, (N, C)."""
    out = []
    for fc, x in parts:
        w = fc.weight.float()
        w = w / w.norm(dim=1, keepdim=True).clamp(min=1e-12).pow(tau)
        out.append(F.linear(x, w, fc.bias))
    return torch.stack(out).mean(0)


def logit_adjusted(logits: torch.Tensor, class_counts: Sequence[int],
                   tau: float) -> torch.Tensor:
    """``z - tau * log pi``, (N, C) float64."""
    return logits.double() - tau * log_prior(class_counts)


@torch.no_grad()
def rule_logits(data: Features,
                la_taus: Sequence[float] = (0.5, 1.0, 1.5, 2.0),
                norm_taus: Sequence[float] = (0.5, 1.0, 1.5, 2.0)
                ) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """The logits of every rule, from the stored features only.

    Returns:
        tuple: ``(rules, notes)``: rule name to (N, C) logits, in table
        order; notes on rules left out.
    """
    head, feats = data.head, data.feats
    rules, notes = {}, []
    rules['as trained'] = predicted_logits(head, feats)
    experts = expert_logits(head, feats)
    raw = experts.mean(0)
    for tau in la_taus:
        rules[f'LA tau={tau:g}'] = logit_adjusted(raw, data.class_counts,
                                                  tau)
    parts = linear_classifiers(head, feats)
    if parts is None:
        notes.append('tau-norm left out: the classifier is not nn.Linear '
                     '(a cosine classifier normalises its weights, so '
                     'tau-normalisation changes nothing).')
    else:
        for tau in norm_taus:
            rules[f'tau-norm {tau:g}'] = tau_norm_logits(parts, tau)
    if multi_expert(head):
        for m in range(experts.shape[0]):
            rules[f'expert {m + 1}'] = experts[m]
        rules['mean of experts'] = raw
    return rules, notes


# ----------------------------------------------------------------------
# scores and table
# ----------------------------------------------------------------------
def score(logits: torch.Tensor, labels: np.ndarray,
          class_counts: Sequence[int], many_shot_thr: int = 100,
          few_shot_thr: int = 20) -> Dict[str, float]:
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
