# Copyright (c) shike-mm contributors. All rights reserved.
"""What the long-tail analysis tools share: a model and its test set from a
config + checkpoint, the logits of every test image (per expert and the
model's own prediction), per-class accuracy, the many / medium / few
grouping of :class:`shike_mm.evaluation.LongTailAccuracy`, plain-text
tables and headless figures.

The logits are computed here from the model (``extract_feat`` then the
head), not read from ``DataSample`` fields stored by ``tools/test.py``.
A multi-expert head (an :class:`~shike_mm.protocols.ExpertLogitsHead`
such as ``MultiExpertFusionHead``) gives ``head.expert_logits(feats)`` of
shape (M, B, C); any single-path head (e.g. mmpretrain's
``LinearClsHead``) is one expert, ``head(feats)`` of shape (B, C).

A library: importing it neither parses arguments nor chooses a matplotlib
backend (the tools do both, through :mod:`shike_mm.analysis.cli`).
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config

import shike_mm  # noqa: F401  registers components and safe globals
from shike_mm.datasets import get_class_counts
from shike_mm.protocols import ExpertLogitsHead
from shike_mm.structures import (FEW_SHOT_THR, MANY_SHOT_THR, ClassCounts,
                                 shot_groups)

GROUPS = ('many', 'medium', 'few')
GROUP_COLOURS = dict(many='#4C72B0', medium='#55A868', few='#C44E52')


# ----------------------------------------------------------------------
# model, data, logits
# ----------------------------------------------------------------------
@dataclass
class Logits:
    """The logits of one model on the test set.

    Attributes:
        experts (np.ndarray | None): (M, N, C) float32, every expert's
            logits; None for a single-path head or when not requested.
        ensemble (np.ndarray): (N, C) float32, the logits the model predicts
            from (the mean of the experts' for ``MultiExpertFusionHead``).
        labels (np.ndarray): (N, ) int64 ground truth.
        class_counts (list[int]): C training images per class.
        name (str): Label used in tables and legends.
        class_names (list[str] | None): From the test set's metainfo.
    """
    experts: Optional[np.ndarray]
    ensemble: np.ndarray
    labels: np.ndarray
    class_counts: List[int]
    name: str
    class_names: Optional[List[str]] = None

    @property
    def num_classes(self) -> int:
        return self.ensemble.shape[1]


def load_config(config: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file and apply ``--cfg-options``."""
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config}')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def build_model(cfg: Config, checkpoint: str, device: str = 'cpu'):
    """Build ``cfg.model``, load ``checkpoint`` into it, eval mode.

    Args:
        cfg (Config): The model's config.
        checkpoint (str): An mmengine checkpoint (``{'state_dict': ...}``)
            or a bare state dict.
        device (str): Where the model runs.

    Returns:
        nn.Module: The model, in eval mode on ``device``.
    """
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    from shike_mm.engine.checkpoint import load_checkpoint_into
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: {checkpoint}')
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model_cfg = cfg.model.copy()
    # a top-level data_preprocessor (mmpretrain's dataset bases) belongs to
    # the model, as the Runner and mmpretrain's init_model merge it
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    load_checkpoint_into(model, checkpoint)  # checked; weights must fit
    return model.to(device).eval()


def is_multi_expert(model) -> bool:
    """True when the head has per-expert logits (an
    :class:`~shike_mm.protocols.ExpertLogitsHead`)."""
    return isinstance(getattr(model, 'head', None), ExpertLogitsHead)


def training_class_counts(cfg: Config, num_classes: int) -> List[int]:
    """Training images per class, from ``cfg.train_dataloader.dataset``
    (labels only: no image is decoded), the way ``ClassCountsHook`` gets
    them."""
    from mmpretrain.registry import DATASETS
    loader = cfg.get('train_dataloader', None)
    if loader is None or 'dataset' not in loader:
        raise KeyError('the config has no train_dataloader.dataset; the '
                       'training class counts (x axis, shot groups) are '
                       'read from it')
    dataset = DATASETS.build(loader['dataset'])
    return get_class_counts(dataset, num_classes=num_classes)


def checkpoint_class_counts(checkpoint: str,
                            num_classes: Optional[int] = None
                            ) -> Optional[ClassCounts]:
    """The counts a run stored in its checkpoint (``meta.class_counts``,
    written by ``ClassCountsHook``), validated; None if it has none."""
    ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    counts = (ckpt.get('meta') or {}).get('class_counts') if isinstance(
        ckpt, dict) else None
    return None if counts is None else ClassCounts.of(
        counts, num_classes, f'{checkpoint}: meta.class_counts')


def run_class_counts(cfg: Config, checkpoint: str,
                     num_classes: int) -> Tuple[List[int], str]:
    """The training class counts of the run that wrote ``checkpoint``:
    those stored in it, else (a checkpoint written before they were
    stored) those of ``cfg.train_dataloader.dataset``.

    Returns:
        tuple[list[int], str]: The counts and where they came from.
    """
    counts = checkpoint_class_counts(checkpoint, num_classes)
    if counts is not None:
        return counts.tolist(), 'the checkpoint (meta.class_counts)'
    return (training_class_counts(cfg, num_classes),
            'the training set of the config')


def build_dataloader(cfg: Config, key: str, seed: Optional[int] = None,
                     name: str = 'the config'):
    """``cfg[key]`` (a dataloader config) built by mmengine's Runner, in
    this process (no persistent workers).

    Args:
        cfg (Config): The config.
        key (str): e.g. ``'test_dataloader'``.
        seed (int, optional): Seed of the sampler's order and the workers.
        name (str): How the error names the config.
    """
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    if key not in cfg:
        raise KeyError(f'{name} has no {key}')
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    loader_cfg = cfg[key].copy()
    loader_cfg['persistent_workers'] = False
    return Runner.build_dataloader(loader_cfg, seed=seed)


@torch.no_grad()
def collect_logits(model,
                   dataloader,
                   per_expert: bool = False,
                   device: str = 'cpu',
                   before_batch: Optional[Callable[[torch.Tensor],
                                                   None]] = None):
    """Run ``model`` over ``dataloader``.

    Args:
        model (ImageClassifier): In eval mode.
        dataloader (Iterable): Yields mmpretrain batches (``inputs``,
            ``data_samples`` with ``gt_label``).
        per_expert (bool): Also return every expert's logits; needs a
            multi-expert head.
        device (str): Where ``model`` is.
        before_batch (callable, optional): Called with the batch's labels,
            (B, ) int64, before the batch goes through the model (for
            forward hooks that sort what they see by class).

    Returns:
        tuple: ``(experts, ensemble, labels)``: (M, N, C) float32 array or
        None, (N, C) float32 array, (N, ) int64 array.
    """
    if per_expert and not is_multi_expert(model):
        raise ValueError(
            f'per-expert logits need a multi-expert head (an '
            f'ExpertLogitsHead such as MultiExpertFusionHead); this '
            f'model\'s head is {type(model.head).__name__}, a single path')
    experts, ensemble, labels = [], [], []
    for data in dataloader:
        data = model.data_preprocessor(data, False)
        labels.append(
            torch.cat([s.gt_label.reshape(-1)[:1]
                       for s in data['data_samples']]).cpu().long())
        if before_batch is not None:
            before_batch(labels[-1])
        feats = model.extract_feat(data['inputs'].to(device))
        ensemble.append(model.head(feats).float().cpu())
        if per_expert:
            experts.append(model.head.expert_logits(feats).float().cpu())
    if not labels:
        raise ValueError('the test dataloader is empty')
    return (torch.cat(experts, dim=1).numpy() if per_expert else None,
            torch.cat(ensemble).numpy(), torch.cat(labels).long().numpy())


def load_logits(config: str,
                checkpoint: str,
                per_expert: bool = False,
                cfg_options: Optional[dict] = None,
                device: Optional[str] = None,
                name: Optional[str] = None) -> Logits:
    """Config + checkpoint to the logits of the config's test set.

    The test set is ``cfg.test_dataloader`` (built by mmengine's
    ``Runner.build_dataloader``), the class counts come from
    ``cfg.train_dataloader.dataset``.

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file.
        per_expert (bool): Keep every expert's logits (multi-expert heads
            only; a clear error otherwise).
        cfg_options (dict, optional): ``--cfg-options``.
        device (str, optional): Default cuda when available, else cpu.
        name (str, optional): Legend label; default the checkpoint's run
            folder and file name.

    Returns:
        Logits
    """
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    cfg = load_config(config, cfg_options)
    model = build_model(cfg, checkpoint, device)
    if per_expert and not is_multi_expert(model):
        raise ValueError(
            f'--per-expert needs a multi-expert head (ExpertLogitsHead); '
            f'{config} has {type(model.head).__name__}, a single path')
    loader = build_dataloader(cfg, 'test_dataloader', name=config)
    experts, ensemble, labels = collect_logits(model, loader, per_expert,
                                               device)
    counts, _ = run_class_counts(cfg, checkpoint, ensemble.shape[1])
    if labels.min() < 0 or labels.max() >= ensemble.shape[1]:
        raise ValueError(f'test labels span [{labels.min()}, '
                         f'{labels.max()}], outside the model\'s '
                         f'{ensemble.shape[1]} classes')
    if name is None:
        name = osp.join(
            osp.basename(osp.dirname(osp.abspath(checkpoint))),
            osp.basename(checkpoint))
    classes = getattr(loader.dataset, 'metainfo', {}).get('classes')
    classes = list(classes) if classes is not None and len(
        classes) == ensemble.shape[1] else None
    return Logits(experts, ensemble, labels, counts, name, classes)


# ----------------------------------------------------------------------
# numbers
# ----------------------------------------------------------------------
def per_class_accuracy(logits: np.ndarray, labels: np.ndarray,
                       num_classes: int) -> np.ndarray:
    """Top-1 accuracy of every class, percent.

    Args:
        logits (np.ndarray): (N, C) scores.
        labels (np.ndarray): (N, ) ground truth.
        num_classes (int): C.

    Returns:
        np.ndarray: (C, ) float64, NaN for a class without test images.
    """
    correct = (logits.argmax(axis=1) == labels).astype(np.float64)
    hits = np.bincount(labels, weights=correct, minlength=num_classes)
    seen = np.bincount(labels, minlength=num_classes).astype(np.float64)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(seen > 0, hits / seen * 100., np.nan)


def group_of(class_counts: Sequence[int],
             many_shot_thr: int = MANY_SHOT_THR,
             few_shot_thr: int = FEW_SHOT_THR) -> List[str]:
    """The group name of every class."""
    groups = shot_groups(class_counts, many_shot_thr, few_shot_thr)
    return [next(g for g in GROUPS if groups[g][c])
            for c in range(len(class_counts))]


def group_means(per_class: np.ndarray,
                groups: Dict[str, np.ndarray]) -> Dict[str, float]:
    """Mean of the per-class values of each group (NaN classes left out),
    the convention of ``LongTailAccuracy``; NaN for an empty group."""
    out = {}
    for g in GROUPS:
        values = per_class[groups[g]]
        values = values[~np.isnan(values)]
        out[g] = float(values.mean()) if values.size else float('nan')
    return out


# ----------------------------------------------------------------------
# output
# ----------------------------------------------------------------------
def fmt(value, digits: int = 2) -> str:
    """A number for a table: fixed digits, ``n/a`` for NaN / None."""
    if value is None:
        return 'n/a'
    if isinstance(value, (int, np.integer)):
        return f'{int(value):,}'
    if np.isnan(value):
        return 'n/a'
    return f'{value:.{digits}f}'


def format_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A Markdown table (readable as plain text, pastes into a README)."""
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r):
        return '| ' + ' | '.join(c.rjust(w) if i else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(r, widths)))\
            + ' |'

    sep = '| ' + ' | '.join(('-' * w) if i == 0 else ('-' * (w - 1) + ':')
                            for i, w in enumerate(widths)) + ' |'
    return '\n'.join([line(cells[0]), sep] + [line(r) for r in cells[1:]])


def shade_groups(ax,
                 class_counts: Sequence[int],
                 many_shot_thr: int = MANY_SHOT_THR,
                 few_shot_thr: int = FEW_SHOT_THR) -> None:
    """Shade the few / medium / many-shot count ranges of a log-x axis."""
    lo = max(min(class_counts), 1) / 1.5
    hi = max(max(class_counts), 1) * 1.5
    # integer counts: few < few_shot_thr <= medium <= many_shot_thr < many
    spans = dict(few=(lo, few_shot_thr - 0.5),
                 medium=(few_shot_thr - 0.5, many_shot_thr + 0.5),
                 many=(many_shot_thr + 0.5, hi))
    for g, (a, b) in spans.items():
        if b > a and b > lo and a < hi:
            ax.axvspan(max(a, lo), min(b, hi), color=GROUP_COLOURS[g],
                       alpha=0.12, lw=0, zorder=0)
            ax.text(np.sqrt(max(a, lo) * min(b, hi)), 1.01, g,
                    transform=ax.get_xaxis_transform(), ha='center',
                    va='bottom', fontsize=8, color=GROUP_COLOURS[g])
    ax.set_xscale('log')
    ax.set_xlim(lo, hi)


def save_figure(fig, out: str, dpi: int = 100) -> str:
    """Write ``fig`` to ``out`` (PNG), creating folders; return the path."""
    folder = osp.dirname(osp.abspath(out))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(out, dpi=dpi, bbox_inches='tight')
    return out
