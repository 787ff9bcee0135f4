# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.losses.utils import weight_reduce_loss
from mmpretrain.registry import MODELS

from ...protocols import EpochAware
from ..utils.class_count_buffer import ClassCountBuffer, check_class_counts
from .utils import hard_labels, upcast_logits


def ldam_margins(class_counts, max_m: float = 0.5) -> torch.Tensor:
    """LDAM margins, ``m_c = max_m * n_c^(-1/4) / max_k n_k^(-1/4)``.

    Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware
    Margin Loss", NeurIPS 2019, Eq. 13: the margin is proportional to
    ``n_c^(-1/4)``, the rarest class gets ``max_m``. Counts of 0 are
    clamped to 1 (an unseen class is treated as the rarest possible one).

    Args:
        class_counts (Sequence[int] | Tensor): n_c, shape (C, ).
        max_m (float): The largest margin. Defaults to 0.5.

    Returns:
        Tensor: Margins, shape (C, ), float64.
    """
    counts = check_class_counts(class_counts).clamp(min=1)
    m = counts.pow(-0.25)
    return m * (max_m / m.max())


def class_balanced_weights(class_counts, beta: float = 0.9999) -> torch.Tensor:
    """Class-balanced weights from the effective number of samples.

    Cui et al., "Class-Balanced Loss Based on Effective Number of
    Samples", CVPR 2019: ``w_c = (1 - beta) / (1 - beta^n_c)``, normalised
    to sum to C as in the LDAM-DRW and RIDE reference code (so the mean
    weight over classes is 1). Counts of 0 are clamped to 1.

    Args:
        class_counts (Sequence[int] | Tensor): n_c, shape (C, ).
        beta (float): Defaults to 0.9999.

    Returns:
        Tensor: Weights, shape (C, ), float64.
    """
    if not 0 <= beta < 1:
        raise ValueError(f'beta must be in [0, 1), got {beta}')
    counts = check_class_counts(class_counts).clamp(min=1)
    w = (1.0 - beta) / (1.0 - torch.pow(
        torch.tensor(beta, dtype=torch.float64), counts))
    return w / w.sum() * counts.numel()


def ldam_loss(cls_score: torch.Tensor,
              label: torch.Tensor,
              margins: torch.Tensor,
              s: float = 30.0,
              scale_logits: bool = False,
              class_weight: Optional[torch.Tensor] = None,
              weight: Optional[torch.Tensor] = None,
              reduction: str = 'mean',
              avg_factor: Optional[float] = None,
              weighted_mean: bool = True) -> torch.Tensor:
    """LDAM cross-entropy with optional per-class weights (DRW).

    The target logit is lowered by the class margin, in the units of the
    scaled cosine logits:

    - ``scale_logits=False`` (the logits already carry the scale, e.g. a
      cosine classifier with scale 30, as in RIDE, which moved ``s`` from
      the loss into the model): ``z'_y = z_y - s * m_y``.
    - ``scale_logits=True`` (unscaled cosine logits in [-1, 1], as in the
      LDAM-DRW reference): ``z' = s * (z - m_y 1_y)``.

    Both give ``s * cos_y - s * m_y`` for the target; use one scale, not
    both (a scale-30 classifier with ``scale_logits=True`` would scale
    twice). Then ``l_i = -w_{y_i} log softmax(z'_i)_{y_i}``.

    Reduction 'mean' without ``class_weight`` divides by B (or
    ``avg_factor``). With ``class_weight`` and ``weighted_mean=True`` it
    divides by ``sum_i weight_i w_{y_i}``, PyTorch's weighted
    ``cross_entropy`` mean used by both reference implementations;
    ``avg_factor`` is then ignored. ``weighted_mean=False`` keeps
    mmpretrain's convention (divide by B or ``avg_factor``).

    Args:
        cls_score (Tensor): Logits, shape (B, C). Half types are cast to
            float32.
        label (Tensor): Class indices, shape (B, ).
        margins (Tensor): m_c, shape (C, ).
        s (float): Scale. Defaults to 30.0.
        scale_logits (bool): Multiply the logits by ``s``. Defaults to False.
        class_weight (Tensor, optional): w_c, shape (C, ).
        weight (Tensor, optional): Sample-wise weight, shape (B, ).
        reduction (str): 'none', 'mean' or 'sum'.
        avg_factor (float, optional): Divisor of 'mean' (see above).
        weighted_mean (bool): See above. Defaults to True.

    Returns:
        Tensor: The reduced loss (shape (B, ) for 'none').
    """
    logits = upcast_logits(cls_score)
    label = label.long()
    m = margins.to(device=logits.device, dtype=logits.dtype)
    onehot = F.one_hot(label, logits.size(-1)).to(logits.dtype)
    if scale_logits:
        logits = s * (logits - onehot * m[label].unsqueeze(1))
    else:
        logits = logits - onehot * (s * m[label]).unsqueeze(1)
    loss = F.cross_entropy(logits, label, reduction='none')
    if weight is not None:
        weight = weight.to(logits.dtype)
    if class_weight is not None:
        cw = class_weight.to(device=logits.device, dtype=logits.dtype)[label]
        weight = cw if weight is None else weight * cw
        if weighted_mean and reduction == 'mean':
            avg_factor = weight.sum()
    return weight_reduce_loss(
        loss, weight=weight, reduction=reduction, avg_factor=avg_factor)


@MODELS.register_module()
class LDAMLoss(ClassCountBuffer, EpochAware, nn.Module):
    """LDAM loss with deferred re-weighting (LDAM-DRW).

    Cao et al., NeurIPS 2019 (github.com/kaidic/LDAM-DRW), in the form used
    by RIDE (github.com/frank-xwang/RIDE-LongTailRecognition,
    ``model/loss.py``): margins ``m_c`` proportional to ``n_c^(-1/4)``
    (largest ``max_m``) subtracted from the scaled target logit (see
    :func:`ldam_loss` for where ``s`` applies), cross-entropy, and from the
    0-based epoch ``drw_epoch`` on, class-balanced weights
    (:func:`class_balanced_weights`, ``beta``). The reference's trainers
    count epochs from 1 and re-weight when ``epoch > reweight_epoch``; with
    0-based epochs that is ``epoch >= drw_epoch`` for the same value (160 on
    CIFAR: the last 40 of 200 epochs, together with the first lr step).

    The epoch arrives through :meth:`set_epoch`
    (:class:`~shike_mm.protocols.EpochAware`), which ``EpochAwareHook``
    calls before every training epoch and after a resume, so a resumed run
    is in the right phase and no config edits the loss. Before the first
    call the loss behaves as at epoch 0. ``set_epoch`` only flips the bool
    :attr:`reweighting` that ``forward`` reads, so a compiled training step
    recompiles once, at ``drw_epoch``, not every epoch.

    The per-class training counts are the only state: the persistent buffer
    ``class_counts`` (shape (C, ), float64), set through
    :meth:`set_class_counts` (called by ``ClassCountsHook``) or the
    constructor. Counts of 0 are clamped to 1.

    The call signature follows mmpretrain's losses, so the module also works
    as ``LinearClsHead(loss=dict(type='LDAMLoss', ...))``.

    Args:
        class_counts (Sequence[int], optional): Training images per class.
        max_m (float): Largest margin. Defaults to 0.5.
        s (float): Logit scale. Defaults to 30.0.
        scale_logits (bool): Multiply the logits by ``s`` in the loss (for
            unscaled cosine logits). Defaults to False: the classifier
            already applies the scale (``CosineClassifier(scale=30)``).
        drw_epoch (int, optional): First 0-based epoch with class-balanced
            weights; None never re-weights. Defaults to None.
        beta (float): Effective-number beta. Defaults to 0.9999.
        weighted_mean (bool): Divide the re-weighted 'mean' by the sum of
            the weights (reference) instead of B. Defaults to True.
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    epoch_valued_args = ('drw_epoch', )  # EpochValued: --epochs moves it

    def __init__(self,
                 class_counts: Optional[Sequence[int]] = None,
                 max_m: float = 0.5,
                 s: float = 30.0,
                 scale_logits: bool = False,
                 drw_epoch: Optional[int] = None,
                 beta: float = 0.9999,
                 weighted_mean: bool = True,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0):
        super().__init__()
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError("reduction must be 'none', 'mean' or 'sum', "
                             f'got {reduction!r}')
        if max_m <= 0:
            raise ValueError(f'max_m must be > 0, got {max_m}')
        if s <= 0:
            raise ValueError(f's must be > 0, got {s}')
        if drw_epoch is not None and drw_epoch < 0:
            raise ValueError(f'drw_epoch must be >= 0 or None, got '
                             f'{drw_epoch}')
        if not 0 <= beta < 1:
            raise ValueError(f'beta must be in [0, 1), got {beta}')
        self.max_m = max_m
        self.s = s
        self.scale_logits = scale_logits
        self.drw_epoch = drw_epoch
        self.beta = beta
        self.weighted_mean = weighted_mean
        self.reduction = reduction
        self.loss_weight = loss_weight
        #: Whether the class-balanced weights are on; set by set_epoch,
        #: epoch 0's phase until then.
        self.reweighting = self.drw_active(0)
        self._register_count_buffer()
        if class_counts is not None:
            self.set_class_counts(class_counts)

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Store the counts as the persistent ``class_counts`` buffer.

        Args:
            counts (Sequence[int] | Tensor): Training images per class,
                shape (C, ).
        """
        self._store_count_buffer(
            self._class_counts(counts).tensor(torch.float64))

    @property
    def margins(self) -> torch.Tensor:
        """Tensor: LDAM margins m_c, shape (C, ), float64."""
        self.require_class_counts()
        return ldam_margins(self.class_counts, self.max_m)

    @property
    def drw_weights(self) -> torch.Tensor:
        """Tensor: Class-balanced weights w_c, shape (C, ), float64."""
        self.require_class_counts()
        return class_balanced_weights(self.class_counts, self.beta)

    def set_epoch(self, epoch: int) -> None:
        """Switch the re-weighting on from ``drw_epoch`` on.

        Args:
            epoch (int): The 0-based epoch about to be trained.
        """
        self.reweighting = self.drw_active(epoch)

    def drw_active(self, epoch: Optional[int] = None) -> bool:
        """Whether re-weighting is on at ``epoch``.

        Args:
            epoch (int, optional): A 0-based epoch. Defaults to the one of
                the last :meth:`set_epoch` call (epoch 0 before any).

        Returns:
            bool: The phase at that epoch.
        """
        if epoch is None:
            return self.reweighting
        return self.drw_epoch is not None and epoch >= self.drw_epoch

    def forward(self,
                cls_score: torch.Tensor,
                label: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> torch.Tensor:
        """Compute the loss.

        Args:
            cls_score (Tensor): Logits, shape (B, C).
            label (Tensor): Class indices, shape (B, ) (or (B, 1)).
            weight (Tensor, optional): Sample-wise weight, shape (B, ).
            avg_factor (float, optional): Divisor for the 'mean' reduction
                (ignored while re-weighting with ``weighted_mean``).
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: The loss (float32, or float64 for float64 logits); a
            scalar unless reduction is 'none'.
        """
        if reduction_override not in (None, 'none', 'mean', 'sum'):
            raise ValueError(f'invalid reduction_override '
                             f'{reduction_override!r}')
        reduction = reduction_override or self.reduction
        label = hard_labels(label, type(self).__name__)
        self.require_class_counts(cls_score.size(-1))
        class_weight = self.drw_weights if self.reweighting else None
        loss = ldam_loss(
            cls_score,
            label,
            self.margins,
            s=self.s,
            scale_logits=self.scale_logits,
            class_weight=class_weight,
            weight=weight,
            reduction=reduction,
            avg_factor=avg_factor,
            weighted_mean=self.weighted_mean)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        num = None if self.class_counts is None else self.class_counts.numel()
        return (f'num_classes={num}, max_m={self.max_m}, s={self.s}, '
                f'scale_logits={self.scale_logits}, '
                f'drw_epoch={self.drw_epoch}, beta={self.beta}, '
                f'loss_weight={self.loss_weight}')
