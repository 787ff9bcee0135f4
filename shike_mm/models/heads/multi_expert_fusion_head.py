# Copyright (c) shike-mm contributors. All rights reserved.
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.evaluation.metrics import Accuracy
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..losses.utils import upcast_logits


@MODELS.register_module()
class MultiExpertFusionHead(ClsHead):
    """Per-expert classifiers with SHIKE's two-stage losses.

    Input is the neck's tuple of M pooled expert features. Every expert has
    its own classifier; the prediction is the mean of the experts' logits.

    Two classifier sets exist from construction and both live in the state
    dict: ``classifiers`` (stage 1, representation learning) and
    ``retrain_classifiers`` (stage 2, classifier re-training). The current
    stage is the persistent bool buffer ``retraining_flag`` (in checkpoints,
    so testing a stage-2 checkpoint predicts with the retrain classifiers);
    change it with :meth:`set_retraining`, read it with :attr:`retraining`.

    Stage 1 (``retraining`` False), losses (Eq. 10), each summed over experts
    inside its module:

    - ``loss_ce``: sum over experts of ``loss`` (CE, batch mean).
    - ``loss_dkt``: ``dkt_loss`` on the (M, B, C) logits (omitted if None).
    - ``loss_mutual``: ``mutual_loss`` on the (M, B, C) logits (omitted if
      None).

    Stage 2 (``retraining`` True): ``loss_bsce``, the sum over experts of
    ``retrain_loss`` (balanced softmax CE, Eq. 11) on the retrain
    classifiers' logits; no distillation. The retrain classifiers are not
    used in stage 1 and the stage-1 classifiers not in stage 2, so the
    unused set gets no gradient (``grad`` stays None).

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Feature dimension D of every expert.
        num_experts (int): Number of experts M. Defaults to 3.
        classifier (dict): Classifier config, built with ``in_features`` and
            ``out_features``. ``dict(type='CosineClassifier', scale=30.0)``
            (default) or ``dict(type='Linear', bias=True)`` for a plain
            ``nn.Linear`` (Kaiming-normal init through ``init_cfg``).
        loss (dict): Per-expert stage-1 CE loss. Defaults to
            ``dict(type='CrossEntropyLoss', loss_weight=1.0)``.
        dkt_loss (dict, optional): Defaults to
            ``dict(type='DKTLoss', loss_weight=10.0)``. None disables it.
        mutual_loss (dict, optional): Defaults to
            ``dict(type='MutualKLLoss', loss_weight=1.0)``. None disables it.
        retrain_loss (dict): Per-expert stage-2 loss. Defaults to
            ``dict(type='BalancedSoftmaxLoss')`` (class counts arrive through
            ``set_class_counts``, called by ``ClassCountsHook``).
        detach_retrain_feats (bool): Detach the features in stage 2 so only
            the retrain classifiers can receive gradients even if the
            backbone is not frozen (decoupled training). Defaults to True.
        topk (int | tuple[int]): Top-k for ``cal_acc``. Defaults to (1, ).
        cal_acc (bool): Add training accuracy of the mean logits to the
            loss dict. Defaults to False.
        init_cfg (dict, optional): Defaults to Kaiming-normal for
            ``nn.Linear`` classifiers; cosine classifiers always use their
            own uniform(-1, 1) + renormalisation init.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 num_experts: int = 3,
                 classifier: dict = dict(type='CosineClassifier', scale=30.0),
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 dkt_loss: Optional[dict] = dict(
                     type='DKTLoss', loss_weight=10.0),
                 mutual_loss: Optional[dict] = dict(
                     type='MutualKLLoss', loss_weight=1.0),
                 retrain_loss: dict = dict(type='BalancedSoftmaxLoss'),
                 detach_retrain_feats: bool = True,
                 topk: Union[int, Tuple[int]] = (1, ),
                 cal_acc: bool = False,
                 init_cfg: Optional[dict] = dict(
                     type='Kaiming', layer='Linear', mode='fan_in')):
        super().__init__(
            loss=loss, topk=topk, cal_acc=cal_acc, init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(
                f'num_classes={num_classes} must be a positive integer')
        if num_experts < 1:
            raise ValueError(f'num_experts must be >= 1, got {num_experts}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.num_experts = num_experts
        self.detach_retrain_feats = detach_retrain_feats
        self.classifier_cfg = copy.deepcopy(classifier)

        self.classifiers = nn.ModuleList(
            [self._build_classifier() for _ in range(num_experts)])
        self.retrain_classifiers = nn.ModuleList(
            [self._build_classifier() for _ in range(num_experts)])

        self.dkt_loss_module = self._build_loss(dkt_loss)
        self.mutual_loss_module = self._build_loss(mutual_loss)
        self.retrain_loss_module = self._build_loss(retrain_loss)
        self.register_buffer(
            'retraining_flag', torch.tensor(False), persistent=True)

    # ------------------------------------------------------------------
    # construction
    # ------------------------------------------------------------------
    def _build_classifier(self) -> nn.Module:
        cfg = copy.deepcopy(self.classifier_cfg)
        if cfg.get('type') in ('Linear', nn.Linear):
            cfg.pop('type')
            return nn.Linear(self.in_channels, self.num_classes, **cfg)
        cfg.update(in_features=self.in_channels, out_features=self.num_classes)
        return MODELS.build(cfg)

    @staticmethod
    def _build_loss(cfg: Optional[dict]) -> Optional[nn.Module]:
        if cfg is None or isinstance(cfg, nn.Module):
            return cfg
        return MODELS.build(cfg)

    # ------------------------------------------------------------------
    # stage switch
    # ------------------------------------------------------------------
    @property
    def retraining(self) -> bool:
        """bool: True in the classifier re-training stage (stage 2)."""
        return bool(self.retraining_flag)

    def set_retraining(self, mode: bool = True) -> None:
        """Switch between stage 1 (False) and classifier re-training (True).

        Only the flag changes; freezing parameters is the caller's job.
        """
        self.retraining_flag.fill_(bool(mode))

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def pre_logits(self, feats: Sequence[torch.Tensor]) -> Tuple[torch.Tensor]:
        """Check and return the M pooled expert features.

        Args:
            feats (Sequence[Tensor]): M tensors of shape (B, D), the output
                of ``GlobalAveragePooling`` on the backbone tuple.

        Returns:
            tuple[Tensor]: The same M (B, D) tensors.
        """
        if isinstance(feats, torch.Tensor) or len(feats) != self.num_experts:
            got = 'a tensor' if isinstance(feats, torch.Tensor) else \
                f'{len(feats)} tensors'
            raise ValueError(
                f'{type(self).__name__} expects a tuple of {self.num_experts}'
                f' expert features (one per expert), got {got}')
        return tuple(feats)

    def forward_experts(self,
                        feats: Sequence[torch.Tensor],
                        retraining: Optional[bool] = None) -> torch.Tensor:
        """Logits of every expert.

        Args:
            feats (Sequence[Tensor]): M tensors of shape (B, D).
            retraining (bool, optional): Which classifier set to use;
                defaults to the current :attr:`retraining` mode.

        Returns:
            Tensor: Shape (M, B, C), in the dtype the classifiers produce
            (e.g. float16 / bfloat16 under autocast).
        """
        feats = self.pre_logits(feats)
        if retraining is None:
            retraining = self.retraining
        classifiers = self.retrain_classifiers if retraining \
            else self.classifiers
        return torch.stack(
            [cls(feat) for cls, feat in zip(classifiers, feats)], dim=0)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Mean of the experts' logits, shape (B, C)."""
        return self.forward_experts(feats).mean(dim=0)

    # ------------------------------------------------------------------
    # loss
    # ------------------------------------------------------------------
    @staticmethod
    def _get_targets(data_samples: List[DataSample]) -> torch.Tensor:
        if 'gt_score' in data_samples[0]:
            raise NotImplementedError(
                'MultiExpertFusionHead needs hard labels (gt_label); batch '
                'augmentations that produce gt_score (Mixup, CutMix) are not '
                'supported by DKT / balanced softmax.')
        return torch.cat([i.gt_label for i in data_samples]).long()

    def loss(self, feats: Sequence[torch.Tensor],
             data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Compute the losses of the current stage.

        Args:
            feats (Sequence[Tensor]): M pooled features, each (B, D).
            data_samples (list[DataSample]): With ``gt_label``.

        Returns:
            dict[str, Tensor]: Stage 1: ``loss_ce`` (+ ``loss_dkt``,
            ``loss_mutual``); stage 2: ``loss_bsce``. float32 scalars.
            With ``cal_acc``, also ``accuracy_top-k``.
        """
        retraining = self.retraining
        if retraining and self.detach_retrain_feats:
            feats = tuple(f.detach() for f in self.pre_logits(feats))
        logits = upcast_logits(
            self.forward_experts(feats, retraining=retraining))
        target = self._get_targets(data_samples).to(logits.device)
        batch_size = logits.size(1)

        losses = dict()
        if retraining:
            losses['loss_bsce'] = sum(
                self.retrain_loss_module(
                    z, target, avg_factor=batch_size, **kwargs)
                for z in logits)
        else:
            losses['loss_ce'] = sum(
                self.loss_module(z, target, avg_factor=batch_size, **kwargs)
                for z in logits)
            if self.dkt_loss_module is not None:
                losses['loss_dkt'] = self.dkt_loss_module(logits, target)
            if self.mutual_loss_module is not None:
                losses['loss_mutual'] = self.mutual_loss_module(logits)

        if self.cal_acc:
            acc = Accuracy.calculate(
                logits.mean(dim=0), target, topk=self.topk)
            losses.update({
                f'accuracy_top-{k}': a
                for k, a in zip(self.topk, acc)
            })
        return losses

    # ------------------------------------------------------------------
    # predict
    # ------------------------------------------------------------------
    def predict(
        self,
        feats: Sequence[torch.Tensor],
        data_samples: Optional[List[Optional[DataSample]]] = None
    ) -> List[DataSample]:
        """Predict with the classifiers of the current stage.

        Args:
            feats (Sequence[Tensor]): M pooled features, each (B, D).
            data_samples (list[DataSample | None], optional): Samples to
                fill; new ones are created if None.

        Returns:
            list[DataSample]: Each with ``pred_score`` (C, ) = softmax of the
            mean logits, ``pred_label`` (1, ) and ``expert_logits`` (M, C),
            the raw logits of every expert (float32, detached).
        """
        expert_logits = self.forward_experts(feats).detach().float()
        pred_scores = F.softmax(expert_logits.mean(dim=0), dim=1)
        pred_labels = pred_scores.argmax(dim=1, keepdim=True)

        if data_samples is None:
            data_samples = [None] * pred_scores.size(0)
        out = []
        for i, (data_sample, score, label) in enumerate(
                zip(data_samples, pred_scores, pred_labels)):
            if data_sample is None:
                data_sample = DataSample()
            data_sample.set_pred_score(score).set_pred_label(label)
            data_sample.set_field(
                expert_logits[:, i], 'expert_logits', dtype=torch.Tensor)
            out.append(data_sample)
        return out
