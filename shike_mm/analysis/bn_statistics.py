# Copyright (c) shike-mm contributors. All rights reserved.
"""How well a model's BatchNorm statistics describe the images of each shot
group, and what re-estimating them does to accuracy.

At test time every BatchNorm layer normalises its input with running
statistics, an exponential average (momentum 0.1) of the per-batch mean and
variance seen in training. On long-tailed data those batches are mostly
many-shot images, and while the weights move fast (a high learning rate)
the average lags behind the network it normalises for. Two measurements
separate these effects:

- **fit per shot group**: for the test images of each group, the mean of
  every channel at a BN layer's input, compared with the running mean in
  units of the running standard deviation, and the group's variance over
  the running variance (:class:`BNGroupStatistics`);
- **re-estimated statistics**: the running statistics replaced by the
  average of the per-batch statistics over one pass of the training
  loader with the weights fixed (:func:`reestimate_bn_statistics`, the
  cumulative average of ``torch.optim.swa_utils.update_bn``; "precise BN"
  in mmpretrain's ``PreciseBNHook``). Accuracy that comes back with them
  had been lost to stale statistics, not to the weights.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .lt_analysis import GROUPS, fmt, group_means, per_class_accuracy


def batch_norm_layers(model: nn.Module) -> List[Tuple[str, _BatchNorm]]:
    """The BatchNorm layers of ``model`` that keep running statistics, in
    module order.

    Raises:
        ValueError: When the model has none (nothing to measure).
    """
    layers = [(name, m) for name, m in model.named_modules()
              if isinstance(m, _BatchNorm) and m.track_running_stats]
    if not layers:
        raise ValueError(f'{type(model).__name__} has no BatchNorm layer '
                         f'with running statistics')
    return layers


class BNGroupStatistics:
    """Forward pre-hooks that sum, per class, what every BatchNorm layer of
    a model in eval mode receives.

    For a layer with input ``x`` of shape (B, K, ...) (K channels, any
    spatial size) and the batch's labels (B, ), it accumulates per class
    the sum over images of each channel's spatial mean and of its spatial
    mean square: (C, K) each, C growing with the largest label seen. Call
    :meth:`set_labels` before every batch (e.g. through
    ``collect_logits(..., before_batch=...)``) and :meth:`remove` at the
    end.

    Args:
        model (nn.Module): The model, in eval mode.
    """

    def __init__(self, model: nn.Module):
        self.layers = batch_norm_layers(model)
        self._labels: Optional[torch.Tensor] = None
        self._sum: Dict[str, torch.Tensor] = OrderedDict()
        self._sum_sq: Dict[str, torch.Tensor] = OrderedDict()
        # images seen per class; grows with the largest label
        self.images = torch.zeros(0, dtype=torch.float64)
        self._handles = [
            layer.register_forward_pre_hook(self._hook(name))
            for name, layer in self.layers
        ]

    def set_labels(self, labels: torch.Tensor) -> None:
        """The labels, (B, ), of the batch about to go through the model."""
        labels = labels.reshape(-1).long().cpu()
        if labels.numel() and labels.min() < 0:
            raise ValueError(f'negative label {int(labels.min())}')
        self._labels = labels
        seen = torch.bincount(labels).double()
        self.images = _grown(self.images, len(seen))
        self.images[:len(seen)] += seen

    def _hook(self, name: str):

        def hook(module, args):
            x = args[0].detach().double()
            if self._labels is None or x.shape[0] != len(self._labels):
                raise RuntimeError(
                    f'BN layer {name} got a batch of {x.shape[0]} without '
                    f'the labels of that batch: call set_labels first')
            dims = tuple(range(2, x.dim()))
            mean = x.mean(dims) if dims else x  # (B, K)
            mean_sq = (x * x).mean(dims) if dims else x * x
            index = self._labels.to(x.device)
            rows = len(self.images)
            for store, value in ((self._sum, mean), (self._sum_sq, mean_sq)):
                if name not in store:
                    store[name] = torch.zeros(
                        0, value.shape[1], dtype=torch.float64,
                        device=x.device)
                store[name] = _grown(store[name], rows)
                store[name].index_add_(0, index, value)

        return hook

    def remove(self) -> None:
        """Detach the hooks."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def fit(self, in_group: Dict[str, np.ndarray]) -> Dict[str, dict]:
        """How the running statistics fit the images of each group.

        For group g, layer l and channel k: ``mu`` and ``var`` are the mean
        and variance of the channel over every position of every image of
        g's classes, ``m`` and ``v`` the layer's running mean and variance.

        Args:
            in_group (dict[str, np.ndarray]): Group name to a bool mask over
                the C classes (:func:`shike_mm.structures.shot_groups`).

        Returns:
            dict[str, dict]: Per group, ``images`` (test images seen),
            ``mean_shift`` (``|mu - m| / sqrt(v + eps)`` averaged over the
            channels, then over the layers) and ``var_ratio`` (``var /
            (v + eps)`` averaged the same way); NaN where the group has no
            image.
        """
        num_classes = len(in_group[GROUPS[0]])
        if len(self.images) > num_classes:
            raise ValueError(f'labels up to {len(self.images) - 1} were '
                             f'seen; the groups cover {num_classes} classes')
        images = _grown(self.images, num_classes)
        out = {}
        for g in GROUPS:
            mask = torch.as_tensor(np.asarray(in_group[g], dtype=bool))
            n = float(images[mask].sum())
            if n == 0:
                out[g] = dict(images=0, mean_shift=float('nan'),
                              var_ratio=float('nan'))
                continue
            shifts, ratios = [], []
            for name, layer in self.layers:
                if name not in self._sum:
                    continue  # a layer the forward pass never reached
                rows = mask.to(self._sum[name].device)
                total = _grown(self._sum[name], num_classes)[rows].sum(0)
                total_sq = _grown(self._sum_sq[name],
                                  num_classes)[rows].sum(0)
                mu = total / n
                var = (total_sq / n - mu * mu).clamp(min=0)
                m = layer.running_mean.double().to(mu.device)
                v = layer.running_var.double().to(mu.device) + layer.eps
                shifts.append(float(((mu - m).abs() / v.sqrt()).mean()))
                ratios.append(float((var / v).mean()))
            out[g] = dict(images=int(n), mean_shift=float(np.mean(shifts)),
                          var_ratio=float(np.mean(ratios)))
        return out


def _grown(t: torch.Tensor, rows: int) -> torch.Tensor:
    """``t`` with zero rows appended up to ``rows`` rows (itself if it has
    as many already)."""
    if len(t) >= rows:
        return t
    pad = t.new_zeros((rows - len(t), ) + tuple(t.shape[1:]))
    return torch.cat([t, pad])


@torch.no_grad()
def reestimate_bn_statistics(model: nn.Module,
                             dataloader,
                             device: str = 'cpu') -> int:
    """Replace the running statistics of every BatchNorm layer by the plain
    average of its per-batch statistics over one pass of ``dataloader``,
    the weights unchanged; the model is left in eval mode.

    Each layer's statistics are reset and its momentum set to ``None``
    (PyTorch's cumulative average) for the pass, then the momentum is
    restored. The batches go through ``data_preprocessor(data, False)``
    (no batch augmentation), the backbone and the head in train mode.

    Args:
        model (ImageClassifier): The model.
        dataloader (Iterable): Yields mmpretrain batches, normally the
            training loader (its pipeline and sampler).
        device (str): Where ``model`` is.

    Returns:
        int: The number of batches averaged.
    """
    layers = [layer for _, layer in batch_norm_layers(model)]
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None
    model.train()
    batches = 0
    try:
        for data in dataloader:
            data = model.data_preprocessor(data, False)
            model.head(model.extract_feat(data['inputs'].to(device)))
            batches += 1
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        model.eval()
    if batches == 0:
        raise ValueError('the dataloader for re-estimating the BatchNorm '
                         'statistics is empty')
    return batches


def group_accuracy(logits: np.ndarray, labels: np.ndarray,
                   in_group: Dict[str, np.ndarray]) -> Dict[str, float]:
    """Top-1 over every image (``top1``) and the mean per-class accuracy of
    each group (``LongTailAccuracy``'s convention), percent.

    Args:
        logits (np.ndarray): (N, C).
        labels (np.ndarray): (N, ).
        in_group (dict[str, np.ndarray]): Group masks over the C classes.
    """
    out = dict(top1=float((logits.argmax(1) == labels).mean() * 100.))
    out.update(group_means(
        per_class_accuracy(logits, labels, logits.shape[1]), in_group))
    return out


def accuracy_rows(results: Sequence[dict]) -> Tuple[List[str], List[list]]:
    """Header and rows, one per checkpoint: test accuracy with the stored
    and with the re-estimated statistics (``n/a`` where not
    re-estimated)."""
    keys = ('top1', ) + GROUPS
    header = (['checkpoint', 'epoch'] + [f'{k} stored' for k in keys] +
              [f'{k} re-est.' for k in keys])
    rows = []
    for r in results:
        re_est = r.get('reestimated') or {}
        rows.append([r['name'], fmt(r['epoch'])] +
                    [fmt(r['stored'][k]) for k in keys] +
                    [fmt(re_est.get(k)) for k in keys])
    return header, rows


def fit_rows(results: Sequence[dict]) -> Tuple[List[str], List[list]]:
    """Header and rows, one per checkpoint: the fit of the stored
    statistics to each group (:meth:`BNGroupStatistics.fit`)."""
    header = (['checkpoint', 'epoch'] + [f'shift {g}' for g in GROUPS] +
              [f'var ratio {g}' for g in GROUPS])
    rows = []
    for r in results:
        rows.append([r['name'], fmt(r['epoch'])] +
                    [fmt(r['fit'][g]['mean_shift'], 3) for g in GROUPS] +
                    [fmt(r['fit'][g]['var_ratio'], 3) for g in GROUPS])
    return header, rows
