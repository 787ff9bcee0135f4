# Copyright (c) shike-mm contributors. All rights reserved.
"""Prediction rules computed from one inference pass over a test set.

:func:`load_features` runs the backbone and neck of a trained model once
(:class:`Features`); :func:`rule_logits` turns the stored features into the
logits of each rule (the model as trained, post-hoc logit adjustment,
tau-normalised classifiers, each expert alone). Shared by
``tools/analysis_tools/prediction_rules.py`` and
``tools/analysis_tools/reliability_diagram.py``.

Heads are read through protocols only:
:class:`~shike_mm.protocols.ExpertLogitsHead` (per-expert logits, the
fusion rule, the classifiers in use),
:class:`~shike_mm.protocols.PredictedLogitsHead` (the logits a head
predicts with), and for tau-normalisation mmpretrain's ``LinearClsHead``
(its ``fc``) or the head wrapped by ``PostHocAdjustedHead``.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import LinearClsHead

from shike_mm.models.heads import PostHocAdjustedHead
from shike_mm.protocols import ExpertLogitsHead, PredictedLogitsHead
from shike_mm.structures import ClassCounts
from .lt_analysis import build_model, load_config, run_class_counts


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
    counts, source = run_class_counts(cfg, checkpoint,
                                      getattr(head, 'num_classes', None))
    return Features(feats, labels, counts, head, source)


# ----------------------------------------------------------------------
# the rules
# ----------------------------------------------------------------------
def multi_expert(head: nn.Module) -> bool:
    """True for a head with per-expert logits (an
    :class:`~shike_mm.protocols.ExpertLogitsHead`)."""
    return isinstance(head, ExpertLogitsHead)


def log_prior(class_counts: Sequence[int]) -> torch.Tensor:
    """``log(n_c / sum_j n_j)``, counts clamped to >= 1, (C, ) float64."""
    return ClassCounts.of(class_counts).log_prior


def expert_logits(head: nn.Module, feats) -> torch.Tensor:
    """Raw logits of every expert, (M, N, C); a single-path head is one
    expert, and ``PostHocAdjustedHead`` gives its wrapped head's raw
    logits."""
    if multi_expert(head):
        return head.expert_logits(feats).float()
    return head(feats).float()[None]


@torch.no_grad()
def predicted_logits(head: nn.Module, feats) -> torch.Tensor:
    """The logits the model predicts with, (N, C): what the head's
    ``predict`` takes the softmax of."""
    if isinstance(head, PredictedLogitsHead):
        return head.predicted_logits(feats).float()
    return head(feats).float()


def linear_classifiers(head: nn.Module,
                       feats) -> Optional[List[Tuple[nn.Linear,
                                                     torch.Tensor]]]:
    """The linear classifiers of a head with their inputs, for
    tau-normalisation: ``[(classifier, (N, D) input), ...]``, one per
    expert; None when the head's classifier is not ``nn.Linear`` (e.g. a
    cosine classifier)."""
    if isinstance(head, PostHocAdjustedHead):
        head = head.head  # the wrapped head
    if multi_expert(head):
        classifiers = head.expert_classifiers
        inputs = head.pre_logits(feats)
    elif isinstance(head, LinearClsHead):
        classifiers = [head.fc]
        inputs = [head.pre_logits(feats)]
    else:
        return None
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
    raw = head.fusion(experts) if multi_expert(head) else experts.mean(0)
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
        rules['mean of experts'] = experts.mean(0)
    return rules, notes
