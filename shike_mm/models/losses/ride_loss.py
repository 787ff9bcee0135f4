# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from ...protocols import ClassCountsConsumer, EpochAware, MultiExpertLoss
from ..utils.class_count_buffer import check_class_counts
from .ldam_loss import LDAMLoss
from .utils import stack_expert_logits


def ride_diversity_temperature(class_counts,
                               reweight_factor: float = 0.05,
                               base_temperature: float = 1.0) -> torch.Tensor:
    """Class-dependent temperature of RIDE's diversity loss.

    ``T_c = T0 * v_c / max_k v_k`` with ``v_c = C p_c f + 1 - f``, ``p_c =
    n_c / sum_k n_k`` and ``f`` the ``reweight_factor``: head classes get
    the base temperature ``T0``, tail classes a lower one (reference:
    github.com/frank-xwang/RIDE-LongTailRecognition, ``model/loss.py``).

    Args:
        class_counts (Sequence[int] | Tensor): n_c, shape (C, ).
        reweight_factor (float): f. Defaults to 0.05 (CIFAR; 0.02 on
            ImageNet-LT, 0.015 on iNaturalist 2018).
        base_temperature (float): T0. Defaults to 1.0.

    Returns:
        Tensor: T_c, shape (C, ), float64, all > 0.
    """
    counts = check_class_counts(class_counts)
    if counts.sum() <= 0:
        raise ValueError('class counts must not all be 0')
    p = counts / counts.sum()
    v = counts.numel() * p * reweight_factor + 1 - reweight_factor
    v = v / v.max()
    if not (v > 0).all():
        raise ValueError(f'reweight_factor={reweight_factor} is too large: '
                         'it gives non-positive diversity temperatures')
    return base_temperature * v


@MODELS.register_module()
class RIDELoss(MultiExpertLoss, ClassCountsConsumer, EpochAware,
               nn.Module):
    """RIDE loss: per-expert LDAM-DRW plus the distribution-aware diversity
    term (Wang et al., ICLR 2021, Eq. 5-6).

    For expert logits ``z_1..z_M`` (cosine logits that already carry the
    scale, so ``scale_logits=False`` by default) and their mean
    ``z_bar``:

    ``L = sum_m [ a * LDAM-DRW(z_m, y)
    + lambda * mean(T)^2 * KL(softmax(z_bar / T) || softmax(z_m / T)) ]``

    - ``LDAM-DRW`` is :class:`LDAMLoss` (held as ``self.ldam``; margins
      ``max_m * n_c^(-1/4) / max``, subtracted from the target logit as
      ``s * m_y``; class-balanced weights from the 0-based epoch
      ``drw_epoch`` on, with PyTorch's weighted mean), ``a`` is
      ``base_loss_factor``.
    - The KL is ``F.kl_div(log_softmax(z_m / T), softmax(z_bar / T),
      reduction='batchmean')``: the mean distribution is the target, under
      ``no_grad`` (detached), and carries no LDAM margin. (Detaching saves
      compute only: summed over the experts, ``log p_bar - log q_m`` is
      constant over the classes, so the gradient through ``p_bar`` is 0.)
      ``lambda`` is ``diversity_factor``, negative, so minimising L pushes
      the experts apart from the ensemble.
    - ``T`` is ``base_temperature`` (scalar) before ``drw_epoch`` and the
      class-dependent :func:`ride_diversity_temperature` from then on
      (the reference switches both at its re-weight epoch);
      ``mean(T)`` is the mean over classes, a constant.

    The reference has no separate loss on the mean output; but with
    ``diversity_factor == 0`` it applies the base loss to the mean logits
    (M times) instead of to each expert. ``base_on_mean=None`` keeps that
    rule, True / False force the choice.

    The protocols (:mod:`shike_mm.protocols`): a ``MultiExpertLoss`` (the
    multi-expert head calls it once with all experts' logits and stores it
    under ``loss_name``); a ``ClassCountsConsumer`` (the counts live in the
    inner ``ldam.class_counts`` buffer); ``EpochAware`` (:meth:`set_epoch`
    is passed on to the inner LDAM loss, whose ``reweighting`` flag also
    switches the temperature).

    Args:
        class_counts (Sequence[int], optional): Training images per class.
        max_m (float): Largest LDAM margin. Defaults to 0.5.
        s (float): LDAM scale. Defaults to 30.0.
        scale_logits (bool): See :class:`LDAMLoss`. Defaults to False.
        drw_epoch (int, optional): 0-based epoch from which both the
            class-balanced weights and the class-dependent temperature
            apply; None never. Defaults to None (configs: 160 on CIFAR, 80
            at ImageNet scale).
        beta (float): Effective-number beta. Defaults to 0.9999.
        base_loss_factor (float): a. Defaults to 1.0.
        diversity_factor (float): lambda. Defaults to -0.45 (the
            reference's CIFAR-100-LT config; its library default and the
            ImageNet-scale configs use -0.2).
        base_temperature (float): T0. Defaults to 1.0.
        reweight_factor (float): f of :func:`ride_diversity_temperature`.
            Defaults to 0.05.
        base_on_mean (bool, optional): See above. Defaults to None.
        loss_weight (float): Multiplies the whole loss. Defaults to 1.0.
        loss_name (str): Key of the loss in the head's loss dict.
            Defaults to 'loss_ride'.
    """

    epoch_valued_args = ('drw_epoch', )  # EpochValued: --epochs moves it

    def __init__(self,
                 class_counts: Optional[Sequence[int]] = None,
                 max_m: float = 0.5,
                 s: float = 30.0,
                 scale_logits: bool = False,
                 drw_epoch: Optional[int] = None,
                 beta: float = 0.9999,
                 base_loss_factor: float = 1.0,
                 diversity_factor: float = -0.45,
                 base_temperature: float = 1.0,
                 reweight_factor: float = 0.05,
                 base_on_mean: Optional[bool] = None,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_ride'):
        super().__init__()
        if base_temperature <= 0:
            raise ValueError(f'base_temperature must be > 0, got '
                             f'{base_temperature}')
        if not 0 <= reweight_factor < 1:
            raise ValueError(f'reweight_factor must be in [0, 1), got '
                             f'{reweight_factor}')
        if not loss_name.startswith('loss'):
            raise ValueError('loss_name must start with "loss" (mmengine '
                             f'only sums such keys), got {loss_name!r}')
        self.ldam = LDAMLoss(
            max_m=max_m,
            s=s,
            scale_logits=scale_logits,
            drw_epoch=drw_epoch,
            beta=beta,
            weighted_mean=True,
            reduction='mean')
        self.base_loss_factor = base_loss_factor
        self.diversity_factor = diversity_factor
        self.base_temperature = base_temperature
        self.reweight_factor = reweight_factor
        self.base_on_mean = base_on_mean
        self.loss_weight = loss_weight
        self.loss_name = loss_name
        if class_counts is not None:
            self.set_class_counts(class_counts)

    @property
    def drw_epoch(self) -> Optional[int]:
        """int, optional: The re-weight epoch (of the inner LDAM loss)."""
        return self.ldam.drw_epoch

    @property
    def has_class_counts(self) -> bool:
        """bool: Whether the class counts have been set."""
        return self.ldam.has_class_counts

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Set the training class counts (stored by the inner LDAM loss).

        Args:
            counts (Sequence[int] | Tensor): Images per class, shape (C, ).
        """
        self.ldam.set_class_counts(counts)
        # Validate the temperatures now rather than at the re-weight epoch.
        ride_diversity_temperature(self.ldam.class_counts,
                                   self.reweight_factor,
                                   self.base_temperature)

    def set_epoch(self, epoch: int) -> None:
        """Pass the epoch on to the inner LDAM loss (re-weighting and the
        class-dependent temperature start at ``drw_epoch``).

        Args:
            epoch (int): The 0-based epoch about to be trained.
        """
        self.ldam.set_epoch(epoch)

    def diversity_temperature(self) -> Union[float, torch.Tensor]:
        """T of the current phase: a float, or (C, ) float64 after DRW."""
        if self.ldam.reweighting:
            self.ldam.require_class_counts()
            return ride_diversity_temperature(self.ldam.class_counts,
                                              self.reweight_factor,
                                              self.base_temperature)
        return self.base_temperature

    def forward(self,
                expert_logits: Union[torch.Tensor, Sequence[torch.Tensor]],
                label: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> torch.Tensor:
        """Compute the loss.

        Args:
            expert_logits (Tensor | Sequence[Tensor]): Shape (M, B, C) (or M
                tensors of shape (B, C)). Half types are cast to float32.
            label (Tensor): Class indices, shape (B, ).
            weight (Tensor, optional): Not supported (must be None).
            avg_factor (float, optional): Ignored: the terms are batch means
                (the re-weighted LDAM a weighted mean).
            reduction_override (str, optional): Only None or 'mean'.

        Returns:
            Tensor: Scalar loss (float32, or float64 for float64 logits).
        """
        if weight is not None:
            raise NotImplementedError('RIDELoss does not support sample-wise '
                                      'weights')
        if reduction_override not in (None, 'mean'):
            raise ValueError('RIDELoss only supports the mean reduction, got '
                             f'reduction_override={reduction_override!r}')
        z = stack_expert_logits(expert_logits)
        mean_logits = z.mean(dim=0)
        base_on_mean = self.base_on_mean
        if base_on_mean is None:
            base_on_mean = self.diversity_factor == 0
        temperature = self.diversity_temperature()
        if isinstance(temperature, torch.Tensor):
            temperature_mean = temperature.mean().item()
            temperature = temperature.to(
                device=z.device, dtype=z.dtype).view(1, -1)
        else:
            temperature_mean = temperature
        with torch.no_grad():
            target_dist = F.softmax(mean_logits / temperature, dim=1)
        loss = z.new_zeros(())
        for z_m in z:
            base = self.ldam(mean_logits if base_on_mean else z_m, label)
            loss = loss + self.base_loss_factor * base
            if self.diversity_factor != 0:
                kl = F.kl_div(
                    F.log_softmax(z_m / temperature, dim=1),
                    target_dist,
                    reduction='batchmean')
                loss = loss + (self.diversity_factor * temperature_mean**2 *
                               kl)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'base_loss_factor={self.base_loss_factor}, '
                f'diversity_factor={self.diversity_factor}, '
                f'base_temperature={self.base_temperature}, '
                f'reweight_factor={self.reweight_factor}, '
                f'base_on_mean={self.base_on_mean}, '
                f'loss_weight={self.loss_weight}, '
                f'loss_name={self.loss_name!r}')
