# Copyright (c) shike-mm contributors. All rights reserved.
import torch

from ..utils.expert_logits import stack_expert_logits, upcast_logits

# upcast_logits and stack_expert_logits live in models/utils (the router
# uses them too); the losses import them from here.
__all__ = [
    'check_kl_reduction', 'hard_labels', 'KL_REDUCTIONS', 'reduce_kl',
    'stack_expert_logits', 'upcast_logits'
]


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
