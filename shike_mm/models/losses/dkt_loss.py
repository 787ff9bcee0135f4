# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from ...protocols import LogitScaleConsumer, MultiExpertLoss
from .utils import check_kl_reduction, reduce_kl, stack_expert_logits


def non_target_index(target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Indices of the non-target classes of every sample, in class order.

    Args:
        target (Tensor): Class indices, shape (B, ).
        num_classes (int): C.

    Returns:
        Tensor: Long tensor of shape (B, C - 1); row b lists
        ``[0, ..., C - 1]`` without ``target[b]``.
    """
    idx = torch.arange(
        num_classes - 1, device=target.device).expand(target.numel(), -1)
    return idx + (idx >= target.view(-1, 1)).long()


def dkt_teacher_logits(expert_logits: torch.Tensor,
                       target: torch.Tensor,
                       exclude_target: bool = False,
                       teacher_target_value: float = 0.0) -> torch.Tensor:
    """Grand-teacher logits of Dynamic Knowledge Transfer (Eq. 5-7).

    For every sample the consensus hardest negative is the non-target class
    with the largest mean-over-experts logit (Eq. 5). The teacher takes that
    mean logit there, and the max over experts at every other non-target
    class (Eq. 6-7). No detach: gradients flow to the experts through the
    mean and the max.

    Args:
        expert_logits (Tensor): Logits of every expert, shape (M, B, C).
        target (Tensor): Class indices, shape (B, ).
        exclude_target (bool): If True (paper, Eq. 7), return the C - 1
            non-target logits in class order, shape (B, C - 1). If False
            (reference implementation), return all C positions with the
            target position set to ``teacher_target_value``, shape (B, C).
        teacher_target_value (float): Value at the target position when
            ``exclude_target`` is False. Defaults to 0.

    Returns:
        Tensor: The teacher logits (float32, or float64 for float64 input).
    """
    z = stack_expert_logits(expert_logits)
    num_classes = z.size(-1)
    if num_classes < 2:
        raise ValueError('DKT needs at least 2 classes')
    target = target.view(-1).long()
    if exclude_target:
        idx = non_target_index(target, num_classes)
        z = z.gather(2, idx.unsqueeze(0).expand(z.size(0), -1, -1))
    mean = z.mean(dim=0)  # (B, C')
    best = z.max(dim=0).values  # (B, C')
    if exclude_target:
        hardest = mean.argmax(dim=1)
    else:
        target_mask = F.one_hot(target, num_classes).bool()
        hardest = mean.masked_fill(target_mask, float('-inf')).argmax(dim=1)
    hardest_mask = F.one_hot(hardest, mean.size(1)).bool()
    teacher = torch.where(hardest_mask, mean, best)
    if not exclude_target:
        teacher = teacher.masked_fill(target_mask, teacher_target_value)
    return teacher


def dkt_loss(expert_logits: torch.Tensor,
             target: torch.Tensor,
             exclude_target: bool = False,
             teacher_target_value: float = 0.0,
             student_target_value: Optional[float] = -30.0,
             detach_teacher: bool = False,
             reduction: str = 'mean') -> torch.Tensor:
    """Non-target distillation from the grand teacher (Eq. 8-9).

    ``sum_m KL(p_T || p_m)``. Reference variant (``exclude_target=False``):
    teacher and students are softmaxes over all C positions; the teacher has
    ``teacher_target_value`` at the target, student m has its target logit
    replaced by ``student_target_value``: -30 in the reference, the lowest
    logit a scale-30 cosine classifier can produce, so the student's
    distribution is (almost) all on the non-target classes. Paper variant
    (``exclude_target=True``): both are softmaxes over the C - 1 non-target
    classes only.

    Args:
        expert_logits (Tensor): Shape (M, B, C).
        target (Tensor): Class indices, shape (B, ).
        exclude_target (bool): Paper's C - 1 formulation. Defaults to False.
        teacher_target_value (float): See above. Defaults to 0.
        student_target_value (float, optional): See above; None uses the
            smallest logit of each expert and sample (detached), the
            counterpart of -scale for classifiers whose logits are
            unbounded. Defaults to -30.
        detach_teacher (bool): Stop gradients through the teacher.
            Defaults to False (reference).
        reduction (str): 'mean' divides the summed point-wise KL by the
            number of elements B * C' (C' = C, or C - 1 with
            ``exclude_target``), 'batchmean' by B, 'sum' not at all. The sum
            over experts is always taken.

    Returns:
        Tensor: Scalar, float32 (float64 for float64 input).
    """
    check_kl_reduction(reduction)
    z = stack_expert_logits(expert_logits)
    num_experts, batch_size, num_classes = z.shape
    target = target.view(-1).long()
    teacher = dkt_teacher_logits(
        z,
        target,
        exclude_target=exclude_target,
        teacher_target_value=teacher_target_value)
    if detach_teacher:
        teacher = teacher.detach()
    if exclude_target:
        idx = non_target_index(target, num_classes)
        student = z.gather(2, idx.unsqueeze(0).expand(num_experts, -1, -1))
    else:
        target_mask = F.one_hot(target, num_classes).bool()
        if student_target_value is None:
            fill = z.detach().min(dim=-1, keepdim=True).values
            student = torch.where(target_mask, fill, z)
        else:
            student = z.masked_fill(target_mask, student_target_value)
    log_t = F.log_softmax(teacher, dim=-1)  # (B, C')
    log_s = F.log_softmax(student, dim=-1)  # (M, B, C')
    loss = (log_t.exp() * (log_t - log_s)).sum()
    return reduce_kl(loss, batch_size, teacher.size(-1), reduction)


@MODELS.register_module()
class DKTLoss(MultiExpertLoss, LogitScaleConsumer, nn.Module):
    """Dynamic Knowledge Transfer loss of SHIKE (Eq. 5-9).

    Defaults reproduce the reference implementation: teacher target position
    kept at 0, student target logit replaced by the lowest logit the
    classifier can produce (-30 for the reference's scale-30 cosine
    classifier), softmax over all C classes, no detach, element-wise mean,
    weight 10. The per-sample ('batchmean') reduction with
    ``loss_weight=10 / C`` gives the same value.

    The student's target fill value. The reference writes -30 because its
    cosine classifier's logits lie in [-30, 30]. With the default
    ``student_target_value='auto'`` the value follows the classifier:
    ``MultiExpertFusionHead`` calls :meth:`set_logit_scale` with its
    classifier's ``scale`` (the fill becomes ``-scale``) or with None for an
    unbounded classifier such as ``nn.Linear`` (the fill becomes the
    smallest logit of each expert and sample, detached). Used without a
    head, 'auto' means -30. A number fixes the value.

    A :class:`~shike_mm.protocols.MultiExpertLoss` (the head calls it once
    with all experts' (M, B, C) logits) and a
    :class:`~shike_mm.protocols.LogitScaleConsumer`.

    Args:
        loss_weight (float): Weight (alpha of Eq. 10). Defaults to 10.0.
        reduction (str): 'mean' (element-wise), 'batchmean' or 'sum'.
            Defaults to 'mean'.
        exclude_target (bool): Paper's C - 1 formulation. Defaults to False.
        detach_teacher (bool): Stop gradients through the teacher.
            Defaults to False.
        teacher_target_value (float): Defaults to 0.0.
        student_target_value (float | str | None): A number, ``'auto'``
            (see above) or None (smallest logit per expert and sample).
            Defaults to 'auto'.
    """

    loss_name = 'loss_dkt'

    def __init__(self,
                 loss_weight: float = 10.0,
                 reduction: str = 'mean',
                 exclude_target: bool = False,
                 detach_teacher: bool = False,
                 teacher_target_value: float = 0.0,
                 student_target_value: Union[float, str, None] = 'auto'):
        super().__init__()
        check_kl_reduction(reduction)
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.exclude_target = exclude_target
        self.detach_teacher = detach_teacher
        self.teacher_target_value = teacher_target_value
        if isinstance(student_target_value, str) \
                and student_target_value != 'auto':
            raise ValueError("DKTLoss: student_target_value must be a number, "
                             f"'auto' or None, got {student_target_value!r}")
        self.student_target_value = student_target_value
        self._auto_value: Optional[float] = -30.0

    def set_logit_scale(self, scale: Optional[float]) -> None:
        """Tell the loss the classifier's logit bound (``'auto'`` mode).

        Args:
            scale (float, optional): Logits lie in ``[-scale, scale]``; None
                for an unbounded classifier.
        """
        self._auto_value = None if scale is None else -float(scale)

    @property
    def resolved_student_target_value(self) -> Optional[float]:
        """float | None: The fill value in use (None: per-sample min)."""
        if self.student_target_value == 'auto':
            return self._auto_value
        return self.student_target_value

    def teacher_logits(self, expert_logits: torch.Tensor,
                       target: torch.Tensor) -> torch.Tensor:
        """Grand-teacher logits, see :func:`dkt_teacher_logits`."""
        return dkt_teacher_logits(
            expert_logits,
            target,
            exclude_target=self.exclude_target,
            teacher_target_value=self.teacher_target_value)

    def forward(self,
                expert_logits: Union[torch.Tensor, Sequence[torch.Tensor]],
                target: torch.Tensor,
                reduction_override: Optional[str] = None,
                **kwargs) -> torch.Tensor:
        """Compute the loss.

        Args:
            expert_logits (Tensor | Sequence[Tensor]): Shape (M, B, C) or M
                tensors of shape (B, C).
            target (Tensor): Class indices, shape (B, ).
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: Scalar, float32 (float64 for float64 input).
        """
        soft = target.dim() > 1 and target.size(-1) != 1
        if target.is_floating_point() or soft:
            raise NotImplementedError(
                'DKTLoss needs integer class labels of shape (B, ); soft '
                'labels (Mixup/CutMix) are not supported.')
        return self.loss_weight * dkt_loss(
            expert_logits,
            target,
            exclude_target=self.exclude_target,
            teacher_target_value=self.teacher_target_value,
            student_target_value=self.resolved_student_target_value,
            detach_teacher=self.detach_teacher,
            reduction=reduction_override or self.reduction)

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, reduction={self.reduction}, '
                f'exclude_target={self.exclude_target}, '
                f'detach_teacher={self.detach_teacher}, student_target_value='
                f'{self.resolved_student_target_value}')
