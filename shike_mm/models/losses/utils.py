# Copyright (c) shike-mm contributors. All rights reserved.
import torch


def upcast_logits(x: torch.Tensor) -> torch.Tensor:
    """Return ``x`` in float32 if it is a half type, otherwise unchanged.

    Losses are computed in at least float32 (AMP autocast produces float16 /
    bfloat16 logits); float64 inputs stay float64 so the losses can be
    checked exactly against slow references.

    Args:
        x (Tensor): Logits of any shape.

    Returns:
        Tensor: float32 or float64 tensor.
    """
    if x.dtype in (torch.float32, torch.float64):
        return x
    return x.float()


def hard_labels(label: torch.Tensor, owner: str) -> torch.Tensor:
    """Class-index labels of shape (B, ) from (B, ) or (B, 1).

    Raises:
        NotImplementedError: For soft / one-hot labels (Mixup, CutMix),
            naming ``owner``, the shape and the dtype.
    """
    if label.dim() == 2 and label.size(1) == 1:
        label = label.squeeze(1)
    if label.dim() != 1 or label.is_floating_point():
        raise NotImplementedError(
            f'{owner} supports integer class labels of shape (B, ) only; '
            'soft / one-hot labels (e.g. from Mixup or CutMix) are not '
            f'supported, got {tuple(label.shape)} {label.dtype}.')
    return label


#: Reductions of the KL-based multi-expert losses (DKT, mutual KL).
KL_REDUCTIONS = ('mean', 'batchmean', 'sum')


def stack_expert_logits(expert_logits) -> torch.Tensor:
    """Stack per-expert logits to one (M, B, C) tensor of at least float32.

    Args:
        expert_logits (Tensor | Sequence[Tensor]): Shape (M, B, C), or M
            tensors of shape (B, C).

    Returns:
        Tensor: Shape (M, B, C), see :func:`upcast_logits` for the dtype.
    """
    if not isinstance(expert_logits, torch.Tensor):
        expert_logits = torch.stack(list(expert_logits), dim=0)
    if expert_logits.dim() != 3:
        raise ValueError('expert logits must have shape (M, B, C), got '
                         f'{tuple(expert_logits.shape)}')
    return upcast_logits(expert_logits)


def check_kl_reduction(reduction: str) -> str:
    """Return ``reduction`` if it is one of :data:`KL_REDUCTIONS`.

    Raises:
        ValueError: Naming the value otherwise.
    """
    if reduction not in KL_REDUCTIONS:
        raise ValueError(f'reduction must be one of {KL_REDUCTIONS}, '
                         f'got {reduction!r}')
    return reduction


def reduce_kl(total: torch.Tensor, batch_size: int, num_classes: int,
              reduction: str) -> torch.Tensor:
    """Reduce a KL summed over all points.

    Args:
        total (Tensor): The point-wise KL summed over experts (pairs),
            samples and classes, a scalar.
        batch_size (int): B.
        num_classes (int): Number of classes the distributions cover.
        reduction (str): 'mean' divides by B * C (the reference's
            element-wise mean), 'batchmean' by B, 'sum' not at all.

    Returns:
        Tensor: Scalar.
    """
    if reduction == 'mean':
        return total / (batch_size * num_classes)
    if reduction == 'batchmean':
        return total / batch_size
    return total
