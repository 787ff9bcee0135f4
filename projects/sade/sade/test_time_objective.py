# Copyright (c) shike-mm contributors. All rights reserved.
import torch
import torch.nn.functional as F


def prediction_stability_loss(fused_view1: torch.Tensor,
                              fused_view2: torch.Tensor,
                              eps: float = 1e-6) -> torch.Tensor:
    """SADE's test-time objective: minus the agreement of two views.

    The negated mean over the batch of the cosine similarity between the
    softmax predictions of two augmented views of the same images (Zhang
    et al., NeurIPS 2022, Eq. 7; public code ``test_training`` of
    ``test_training_cifar.py``, github.com/Vanint/SADE-AgnosticLT).
    Minimising it makes the aggregated prediction stable under
    augmentation.

    Args:
        fused_view1 (Tensor): Fused logits of the first view, (B, C).
        fused_view2 (Tensor): Fused logits of the second view, (B, C).
        eps (float): Epsilon of the cosine similarity. Defaults to 1e-6
            (the public code's).

    Returns:
        Tensor: A scalar in [-1, 0].
    """
    if fused_view1.shape != fused_view2.shape or fused_view1.dim() != 2:
        raise ValueError('prediction_stability_loss: the two views need '
                         'fused logits of the same shape (B, C), got '
                         f'{tuple(fused_view1.shape)} and '
                         f'{tuple(fused_view2.shape)}')
    p1 = F.softmax(fused_view1, dim=1)
    p2 = F.softmax(fused_view2, dim=1)
    return -F.cosine_similarity(p1, p2, dim=1, eps=eps).mean()
