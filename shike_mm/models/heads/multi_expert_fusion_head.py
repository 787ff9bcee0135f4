# Copyright (c) shike-mm contributors. All rights reserved.
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmpretrain.evaluation.metrics import Accuracy
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ...protocols import LogitScaleConsumer
from ..utils.arg_checks import check_num_experts
from ..utils.expert_logits import upcast_logits
from .expert_classifiers import ExpertClassifiers
from .expert_outputs import expert_losses, expert_predictions
from .head_modes import ExpertHeadModes


@MODELS.register_module()
class MultiExpertFusionHead(ExpertHeadModes, ClsHead):
    """Per-expert classifiers, mean-logit prediction and the losses of a
    multi-expert model (SHIKE's two stages).

    Input is the neck's tuple of M pooled expert features. Every expert has
    its own classifier; the prediction is the mean of the experts' logits.
    The head follows mmpretrain's ``ClsHead`` split: ``forward`` (traceable)
    returns the mean logits, ``loss`` and ``predict`` compute the (M, B, C)
    expert logits and hand them to :meth:`_get_loss` /
    :meth:`_get_predictions`.

    It composes small parts: two :class:`ExpertClassifiers` sets, both in
    the state dict from construction, ``classifiers`` (stage 1,
    representation learning) and ``retrain_classifiers`` (stage 2,
    classifier re-training); an optional ``router``
    (:class:`~shike_mm.models.utils.ExpertRouter`); the modes of
    :class:`ExpertHeadModes` (the :class:`~shike_mm.protocols.StagedHead`
    protocol: :meth:`set_mode`, :attr:`mode`, :attr:`available_modes`,
    called by the stage hook), persistent so that testing a stage-2
    checkpoint predicts with the retrain classifiers; and
    :func:`expert_losses` / :func:`expert_predictions` for the outputs.

    Losses. A :class:`~shike_mm.protocols.MultiExpertLoss` (DKT, mutual
    KL, RIDE's loss) is called once with the (M, B, C) logits and the
    targets; any other loss (mmpretrain's CE, focal, balanced softmax ...)
    is applied to each expert's (B, C) logits and summed over the experts.
    Each value is logged under :func:`~shike_mm.models.losses.loss_key` of
    its module (``loss_ce``, ``loss_dkt``, ``loss_mutual``, ``loss_bsce``
    ...).

    - experts mode (stage 1, Eq. 10): ``loss``, ``dkt_loss`` and
      ``mutual_loss`` (each omitted if None).
    - retrain mode (stage 2, Eq. 11): ``retrain_loss`` on the retrain
      classifiers' logits; no distillation. The unused classifier set gets
      no gradient (``grad`` stays None). ``retrain_loss=None`` (RIDE)
      builds no retrain classifiers and has no retrain mode.
    - router mode (RIDE's expert assignment, any multi-expert model): only
      the router learns, from the pooled features and the logits of the
      classifier set in use, with its BCE loss ``loss_router``. From then
      on predictions are routed: a sample stops at the first expert whose
      router says no, the prediction is the mean of the experts it used,
      and each predicted ``DataSample`` records ``num_experts``.

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Feature dimension D of every expert.
        num_experts (int): Number of experts M. Defaults to 3.
        classifier (dict): Classifier config, built with ``in_features`` and
            ``out_features``. ``dict(type='CosineClassifier', scale=30.0)``
            (default) or ``dict(type='Linear', bias=True)`` for a plain
            ``nn.Linear`` (Kaiming-normal init through ``init_cfg``). Its
            ``scale`` (if any) bounds the logits and is handed to every
            :class:`~shike_mm.protocols.LogitScaleConsumer` loss (DKT's
            target fill value).
        loss (dict): Stage-1 loss. Defaults to
            ``dict(type='CrossEntropyLoss', loss_weight=1.0)``.
        dkt_loss (dict, optional): Defaults to
            ``dict(type='DKTLoss', loss_weight=10.0)``. None disables it.
        mutual_loss (dict, optional): Defaults to
            ``dict(type='MutualKLLoss', loss_weight=1.0)``. None disables it.
        retrain_loss (dict, optional): Stage-2 loss. Defaults to
            ``dict(type='BalancedSoftmaxLoss')`` (a ``ClassCountsConsumer``:
            ``ClassCountsHook`` hands it the class counts). None: no
            retrain classifiers, no retrain mode.
        router (dict, optional): An ``ExpertRouter`` config, built with
            ``in_channels`` and ``num_experts``; enables the router mode.
            Defaults to None.
        detach_retrain_feats (bool): Detach the features in stage 2 so only
            the retrain classifiers can receive gradients even if the
            backbone is not frozen (decoupled training). Defaults to True.
        keep_expert_logits (bool): Also store every expert's logits in the
            predicted ``DataSample`` (``expert_logits``, (M, C)). Off by
            default: on a large test set they cost M x C floats per image
            in ``tools/test.py --out``. Defaults to False.
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
                 retrain_loss: Optional[dict] = dict(
                     type='BalancedSoftmaxLoss'),
                 router: Optional[dict] = None,
                 detach_retrain_feats: bool = True,
                 keep_expert_logits: bool = False,
                 topk: Union[int, Tuple[int]] = (1, ),
                 cal_acc: bool = False,
                 init_cfg: Optional[dict] = dict(
                     type='Kaiming', layer='Linear', mode='fan_in')):
        super().__init__(
            loss=loss, topk=topk, cal_acc=cal_acc, init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(
                f'num_classes={num_classes} must be a positive integer')
        num_experts = check_num_experts(num_experts, type(self).__name__,
                                        'model.head.num_experts')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.num_experts = num_experts
        self.detach_retrain_feats = detach_retrain_feats
        self.keep_expert_logits = keep_expert_logits

        def classifiers():
            return ExpertClassifiers(classifier, in_channels, num_classes,
                                     num_experts)

        self.classifiers = classifiers()
        self.retrain_classifiers = None
        if retrain_loss is not None:
            self.retrain_classifiers = classifiers()
        self.dkt_loss_module = self._build_loss(dkt_loss)
        self.mutual_loss_module = self._build_loss(mutual_loss)
        self.retrain_loss_module = self._build_loss(retrain_loss)
        self.router = None
        if router is not None:
            router = copy.deepcopy(router)
            router.update(in_channels=in_channels, num_experts=num_experts)
            self.router = MODELS.build(router)
        self._register_modes()

        scale = self.classifiers.logit_scale
        for module in (self.loss_module, self.dkt_loss_module,
                       self.mutual_loss_module, self.retrain_loss_module):
            if isinstance(module, LogitScaleConsumer):
                module.set_logit_scale(scale)

    @staticmethod
    def _build_loss(cfg: Optional[dict]) -> Optional[nn.Module]:
        if cfg is None or isinstance(cfg, nn.Module):
            return cfg
        return MODELS.build(cfg)

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
        return classifiers(feats)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Mean of the experts' logits, shape (B, C)."""
        return self.forward_experts(feats).mean(dim=0)

    # ------------------------------------------------------------------
    # loss
    # ------------------------------------------------------------------
    def loss(self, feats: Sequence[torch.Tensor],
             data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Compute the losses of the current mode.

        Args:
            feats (Sequence[Tensor]): M pooled features, each (B, D).
            data_samples (list[DataSample]): With ``gt_label``.
            **kwargs: Passed to the per-expert loss modules.

        Returns:
            dict[str, Tensor]: ``loss_router`` in the router mode, else
            see :meth:`_get_loss`.
        """
        # The part that torch.fx can trace.
        if (self.retraining or self.routing) and self.detach_retrain_feats:
            feats = tuple(f.detach() for f in self.pre_logits(feats))
        expert_logits = self.forward_experts(feats)
        # The part it cannot.
        if self.routing:
            target = self._get_targets(data_samples).to(expert_logits.device)
            return dict(
                loss_router=self.router.loss(feats, expert_logits, target))
        return self._get_loss(expert_logits, data_samples, **kwargs)

    @staticmethod
    def _get_targets(data_samples: List[DataSample]) -> torch.Tensor:
        if 'gt_score' in data_samples[0]:
            raise NotImplementedError(
                'MultiExpertFusionHead needs hard labels (gt_label); batch '
                'augmentations that produce gt_score (Mixup, CutMix) are not '
                'supported by DKT / balanced softmax.')
        return torch.cat([i.gt_label for i in data_samples]).long()

    def active_losses(self) -> List[nn.Module]:
        """The loss modules of the experts or retrain mode, in logging
        order (the router mode has the router's own loss)."""
        if self.retraining:
            return [self.retrain_loss_module]
        return [
            m for m in (self.loss_module, self.dkt_loss_module,
                        self.mutual_loss_module) if m is not None
        ]

    def _get_loss(self, expert_logits: torch.Tensor,
                  data_samples: List[DataSample],
                  **kwargs) -> Dict[str, torch.Tensor]:
        """Losses of the current mode from the expert logits
        (:func:`expert_losses`).

        Args:
            expert_logits (Tensor): Shape (M, B, C).
            data_samples (list[DataSample]): With ``gt_label``.
            **kwargs: Passed to the per-expert loss modules.

        Returns:
            dict[str, Tensor]: One float32 scalar per active loss, keyed by
            :func:`loss_key` (stage 1 by default ``loss_ce``, ``loss_dkt``,
            ``loss_mutual``; stage 2 ``loss_bsce``). With ``cal_acc``, also
            ``accuracy_top-k`` of the mean logits.
        """
        logits = upcast_logits(expert_logits)
        target = self._get_targets(data_samples).to(logits.device)
        losses = expert_losses(self.active_losses(), logits, target,
                               type(self).__name__, **kwargs)
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
        """Predict with the classifiers of the current mode.

        Args:
            feats (Sequence[Tensor]): M pooled features, each (B, D).
            data_samples (list[DataSample | None], optional): Samples to
                fill; new ones are created if None.

        Returns:
            list[DataSample]: See :meth:`_get_predictions`.
        """
        # The part that torch.fx can trace.
        expert_logits = self.forward_experts(feats)
        # The part it cannot.
        routed = None
        if self.routing:
            routed = self.router.predict(self.pre_logits(feats), expert_logits)
        return self._get_predictions(expert_logits, data_samples, routed)

    def _get_predictions(
        self,
        expert_logits: torch.Tensor,
        data_samples: Optional[List[Optional[DataSample]]],
        routed: Optional[Tuple[torch.Tensor, torch.Tensor]] = None
    ) -> List[DataSample]:
        """Fill data samples from the expert logits; see
        :func:`expert_predictions` (``expert_logits`` only with
        ``keep_expert_logits``)."""
        return expert_predictions(expert_logits, data_samples, routed,
                                  self.keep_expert_logits)
