# Copyright (c) shike-mm contributors. All rights reserved.
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch.func import functional_call

from ...protocols import PredictedLogitsHead
from ..utils.class_count_buffer import ClassCountBuffer
from ..utils.expert_logits import upcast_logits


@MODELS.register_module()
class PostHocAdjustedHead(ClassCountBuffer, PredictedLogitsHead, BaseModule):
    """Test-time corrections of any classification head for a long-tailed
    training set: post-hoc logit adjustment and tau-normalisation.

    Training is the wrapped head's own (``loss`` is delegated unchanged, so
    a CE-trained head stays CE-trained). Only :meth:`predict` (validation,
    testing) changes, in this order:

    1. tau-normalisation (Kang et al., ICLR 2020), if
       ``weight_norm_tau`` is set: the classifier weight ``W`` (the
       parameter ``weight_name`` of the wrapped head, (C, D)) is replaced by
       ``W_c / ||W_c||^weight_norm_tau`` row by row for the forward pass; a
       bias, if any, is kept. 1 gives unit-norm rows, 0 the raw classifier.
    2. Post-hoc logit adjustment (Menon et al., ICLR 2021), if ``tau`` is
       not 0: ``z_c - tau * log pi_c`` with the training prior
       ``pi_c = n_c / sum_j n_j``. The argmax is the Bayes rule for the
       balanced error when ``softmax(z)`` estimates ``P(y | x)``.

    The class counts are the persistent buffer ``log_prior`` (float64,
    ``log pi`` with counts clamped to at least 1), so they travel in
    checkpoints. They are set only by :meth:`set_class_counts`, which
    ``ClassCountsHook`` calls with the training counts (also before a
    test-only run); ``class_counts`` in the constructor is the same call.

    ``forward`` (``mode='tensor'``) returns the wrapped head's raw logits.
    The wrapped head is the submodule ``head``, so its parameters are named
    ``head.head.*`` inside a classifier.

    Args:
        head (dict | nn.Module): The wrapped head, e.g.
            ``dict(type='LinearClsHead', num_classes=100, in_channels=64)``.
        num_classes (int, optional): Set as ``num_classes`` of the wrapped
            head's config (so dataset configs that set
            ``model.head.num_classes`` work through the wrapper). Defaults
            to None (the wrapped config's own value).
        in_channels (int, optional): Likewise for ``in_channels``.
        tau (float): Logit-adjustment temperature; 0 disables step 2.
            Defaults to 1.0.
        weight_norm_tau (float, optional): tau-normalisation exponent; None
            disables step 1. Defaults to None.
        weight_name (str): Name of the classifier weight inside the wrapped
            head, for step 1. Defaults to ``'fc.weight'`` (``LinearClsHead``).
        class_counts (Sequence[int], optional): Training images per class.
            Defaults to None (set by ``ClassCountsHook``).
        init_cfg (dict, optional): Defaults to None (the wrapped head keeps
            its own init).

    Shapes:
        - input: the wrapped head's input (a tuple of (B, D) features)
        - forward / adjusted logits: (B, C)
    """

    count_buffer_name = 'log_prior'
    # predictions use it: kept with the weights for loaders without hooks
    count_buffer_in_checkpoint = True

    def __init__(self,
                 head: Union[dict, nn.Module],
                 num_classes: Optional[int] = None,
                 in_channels: Optional[int] = None,
                 tau: float = 1.0,
                 weight_norm_tau: Optional[float] = None,
                 weight_name: str = 'fc.weight',
                 class_counts: Optional[Sequence[int]] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        given = dict(num_classes=num_classes, in_channels=in_channels)
        given = {k: v for k, v in given.items() if v is not None}
        if isinstance(head, nn.Module):
            inner = {k: getattr(head, k, None) for k in given}
        else:
            head = dict(head)
            inner = {k: head.get(k) for k in given}
        for key, value in given.items():
            if inner[key] is not None and inner[key] != value:
                raise ValueError(
                    f'PostHocAdjustedHead: {key}={value} but the wrapped head'
                    f' has {key}={inner[key]}')
        if not isinstance(head, nn.Module):
            head.update(given)
            head = MODELS.build(head)
        self.head = head
        self.num_classes = getattr(head, 'num_classes', num_classes)
        self.tau = float(tau)
        self.weight_norm_tau = None if weight_norm_tau is None else float(
            weight_norm_tau)
        if self.tau == 0 and self.weight_norm_tau is None:
            raise ValueError(
                'PostHocAdjustedHead: tau=0 and weight_norm_tau=None change '
                'nothing; set at least one of them')
        self.weight_name = weight_name
        if self.weight_norm_tau is not None:
            names = dict(self.head.named_parameters())
            if weight_name not in names or names[weight_name].dim() != 2:
                raise ValueError(
                    f'PostHocAdjustedHead: weight_name={weight_name!r} is '
                    f'not a 2-D parameter of {type(self.head).__name__}; it '
                    f'has {sorted(names)}')
        self._register_count_buffer()
        if class_counts is not None:
            self.set_class_counts(class_counts)

    # ------------------------------------------------------------------
    # class counts
    # ------------------------------------------------------------------
    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Store ``log(n_c / sum_j n_j)`` (counts clamped to >= 1).

        Args:
            counts (Sequence[int] | Tensor): Training images per class,
                shape (C, ).
        """
        self._store_count_buffer(self._class_counts(counts).log_prior)

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def forward(self, feats) -> torch.Tensor:
        """The wrapped head's raw logits, (B, C)."""
        return self.head(feats)

    def loss(self, feats, data_samples: List[DataSample], **kwargs) -> dict:
        """The wrapped head's loss, unchanged."""
        return self.head.loss(feats, data_samples, **kwargs)

    def normalized_weight(self) -> torch.Tensor:
        """``W_c / ||W_c||^weight_norm_tau`` row by row, (C, D)."""
        weight = dict(self.head.named_parameters())[self.weight_name]
        norms = weight.norm(dim=1, keepdim=True).clamp(min=1e-12)
        return weight / norms.pow(self.weight_norm_tau)

    def adjusted_logits(self, feats) -> torch.Tensor:
        """Logits after tau-normalisation and logit adjustment.

        Args:
            feats: The wrapped head's input.

        Returns:
            Tensor: (B, C), float32 (float64 for float64 logits).
        """
        if self.weight_norm_tau is None:
            logits = self.head(feats)
        else:
            logits = functional_call(
                self.head, {self.weight_name: self.normalized_weight()},
                (feats, ))
        logits = upcast_logits(logits)
        if self.tau == 0:
            return logits
        if self.log_prior is None:
            raise RuntimeError(
                'PostHocAdjustedHead has no class counts. Keep '
                "dict(type='ClassCountsHook') in default_hooks (it reads the "
                'counts from the training dataset), pass class_counts=[...] '
                'or load a checkpoint that holds head.log_prior.')
        if self.log_prior.numel() != logits.size(-1):
            raise ValueError(
                f'PostHocAdjustedHead has counts for {self.log_prior.numel()}'
                f' classes but the logits have {logits.size(-1)}.')
        return logits - self.tau * self.log_prior.to(
            device=logits.device, dtype=logits.dtype)

    def predicted_logits(self, feats) -> torch.Tensor:
        """:meth:`adjusted_logits` (the
        :class:`~shike_mm.protocols.PredictedLogitsHead` protocol)."""
        return self.adjusted_logits(feats)

    def predict(
        self,
        feats,
        data_samples: Optional[List[Optional[DataSample]]] = None
    ) -> List[DataSample]:
        """Predict from the adjusted logits.

        Returns:
            list[DataSample]: ``pred_score`` = softmax of the adjusted
            logits (C, ), ``pred_label`` its argmax (1, ).
        """
        cls_score = self.adjusted_logits(feats).detach()
        return ClsHead._get_predictions(self, cls_score, data_samples)

    def extra_repr(self) -> str:
        num = None if self.log_prior is None else self.log_prior.numel()
        return (f'tau={self.tau}, weight_norm_tau={self.weight_norm_tau}, '
                f'num_classes={num}')
