# Copyright (c) shike-mm contributors. All rights reserved.
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmpretrain.evaluation.metrics import Accuracy
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ...protocols import ExpertLogitsHead, LogitScaleConsumer
from ..utils.arg_checks import check_num_experts
from ..utils.expert_logits import upcast_logits
from .expert_classifiers import ExpertClassifiers
from .expert_outputs import expert_losses, expert_predictions
from .head_modes import ExpertHeadModes
from .router_mode import RouterMode
from .stage_modes import ExpertsMode, RetrainMode


@MODELS.register_module()
class MultiExpertFusionHead(ExpertHeadModes, ExpertLogitsHead, ClsHead):
    """Per-expert classifiers, a fusion rule and the modes of a
    multi-expert model (SHIKE's two stages, RIDE's routing, and the modes
    a method adds).

    Input is the neck's tuple of M pooled expert features. Every expert has
    its own classifier; :meth:`expert_logits` gives the (M, B, C) logits
    of the classifier set in use and the fusion rule ``fusion`` (a
    :class:`~shike_mm.protocols.FusionRule`, by default the mean) turns
    them into one prediction. ``forward`` (traceable) returns the fused
    logits; ``loss`` and ``predict`` are handed to the mode in force.

    It composes small parts: two :class:`ExpertClassifiers` sets, both in
    the state dict from construction, ``classifiers`` (stage 1,
    representation learning) and ``retrain_classifiers`` (stage 2,
    classifier re-training); an optional ``router``
    (:class:`~shike_mm.models.utils.ExpertRouter`); the fusion rule
    ``fusion``; the mode components ``modes`` (a ``ModuleDict`` of
    :class:`~shike_mm.protocols.HeadMode`: ``ExpertsMode``,
    ``RetrainMode`` with retrain classifiers, ``RouterMode`` with a router,
    then ``extra_modes``), switched through :class:`ExpertHeadModes` (the
    :class:`~shike_mm.protocols.StagedHead` protocol called by the stage
    hook) and recorded in persistent flags, so that testing a stage-2
    checkpoint predicts with the retrain classifiers.

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
      the router learns, with its BCE loss ``loss_router``; from then on
      predictions are routed (see ``RouterMode``).

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Feature dimension D of every expert.
        num_experts (int): Number of experts M. Defaults to 3; inside a
            ``MultiExpertClassifier`` it is set from the backbone.
        classifier (dict): Classifier config, built with ``in_features`` and
            ``out_features``. ``dict(type='CosineClassifier', scale=30.0)``
            (default) or ``dict(type='Linear', bias=True)`` for a plain
            ``nn.Linear`` (Kaiming-normal init through ``init_cfg``). Its
            ``scale`` (if any) bounds the logits and is handed to every
            :class:`~shike_mm.protocols.LogitScaleConsumer` loss (DKT's
            target fill value).
        fusion (dict): The :class:`~shike_mm.protocols.FusionRule`, built
            from ``MODELS``. Defaults to ``dict(type='MeanFusion')``.
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
        extra_modes (Sequence[dict]): More
            :class:`~shike_mm.protocols.HeadMode` configs, built from
            ``MODELS`` and added after the built-in modes. Defaults to ().
        detach_retrain_feats (bool): Detach the features in the retrain and
            router modes so only the retrain classifiers (or the router)
            can receive gradients even if the backbone is not frozen
            (decoupled training). Defaults to True.
        keep_expert_logits (bool): Also store every expert's logits in the
            predicted ``DataSample`` (``expert_logits``, (M, C)). Off by
            default: on a large test set they cost M x C floats per image
            in ``tools/test.py --out``. Defaults to False.
        topk (int | tuple[int]): Top-k for ``cal_acc``. Defaults to (1, ).
        cal_acc (bool): Add training accuracy of the fused logits to the
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
                 fusion: dict = dict(type='MeanFusion'),
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 dkt_loss: Optional[dict] = dict(
                     type='DKTLoss', loss_weight=10.0),
                 mutual_loss: Optional[dict] = dict(
                     type='MutualKLLoss', loss_weight=1.0),
                 retrain_loss: Optional[dict] = dict(
                     type='BalancedSoftmaxLoss'),
                 router: Optional[dict] = None,
                 extra_modes: Sequence[dict] = (),
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
        self.fusion = MODELS.build(fusion)
        self.modes = self._build_modes(extra_modes)
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

    def _build_modes(self, extra_modes: Sequence[dict]) -> nn.ModuleDict:
        """The built-in modes, then ``extra_modes``."""
        detach = self.detach_retrain_feats
        modes = [ExpertsMode(), RetrainMode(detach_feats=detach)]
        if self.router is not None:
            modes.append(RouterMode(detach_feats=detach))
        modes += [
            m if isinstance(m, nn.Module) else MODELS.build(m)
            for m in extra_modes
        ]
        out = nn.ModuleDict()
        for mode in modes:
            if not mode.name or mode.name in out:
                raise ValueError(
                    f'{type(self).__name__}: extra_modes: mode '
                    f'{type(mode).__name__} has the name {mode.name!r}, '
                    f'empty or already taken ({list(out)})')
            if mode.classifiers is not None and not hasattr(
                    self, mode.classifiers):
                raise ValueError(
                    f'{type(self).__name__}: extra_modes: mode '
                    f'{mode.name!r} uses classifiers={mode.classifiers!r}, '
                    'which the head does not have')
            out[mode.name] = mode
        return out

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

    @property
    def expert_classifiers(self) -> ExpertClassifiers:
        """ExpertClassifiers: The classifier set of the mode in force."""
        return getattr(self, self.classifier_mode.classifiers)

    @property
    def retraining(self) -> bool:
        """bool: True once the retrain classifiers are in use (stage 2 and
        a router stage after it)."""
        return self._mode_flag('retraining_flag')

    @property
    def routing(self) -> bool:
        """bool: True in the router mode (router training, routed
        predictions)."""
        return self.router is not None and self._mode_flag('routing_flag')

    def expert_logits(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits of every expert with the classifier set in use.

        Args:
            feats (Sequence[Tensor]): M tensors of shape (B, D).

        Returns:
            Tensor: Shape (M, B, C), in the dtype the classifiers produce
            (e.g. float16 / bfloat16 under autocast).
        """
        return self.expert_classifiers(self.pre_logits(feats))

    def forward_experts(self,
                        feats: Sequence[torch.Tensor],
                        retraining: Optional[bool] = None) -> torch.Tensor:
        """Logits of every expert, with the stage-1 or the retrain
        classifiers (:meth:`expert_logits` for the set in use).

        Args:
            feats (Sequence[Tensor]): M tensors of shape (B, D).
            retraining (bool, optional): Which classifier set to use;
                defaults to the set in use.

        Returns:
            Tensor: Shape (M, B, C).
        """
        if retraining is None:
            return self.expert_logits(feats)
        classifiers = self.retrain_classifiers if retraining \
            else self.classifiers
        return classifiers(self.pre_logits(feats))

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """The fused logits of the experts, shape (B, C)."""
        return self.fusion(self.expert_logits(feats))

    # ------------------------------------------------------------------
    # loss
    # ------------------------------------------------------------------
    def loss(self, feats: Sequence[torch.Tensor],
             data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Compute the losses of the mode in force (its ``loss``).

        Args:
            feats (Sequence[Tensor]): M pooled features, each (B, D).
            data_samples (list[DataSample]): With ``gt_label``.
            **kwargs: Passed to the per-expert loss modules.

        Returns:
            dict[str, Tensor]: See :meth:`losses_from_logits`
            (``loss_router`` in the router mode).
        """
        return self.current_mode.loss(self, feats, data_samples, **kwargs)

    @staticmethod
    def get_targets(data_samples: List[DataSample]) -> torch.Tensor:
        """The hard labels of ``data_samples``, (B, ) int64."""
        if 'gt_score' in data_samples[0]:
            raise NotImplementedError(
                'MultiExpertFusionHead needs hard labels (gt_label); batch '
                'augmentations that produce gt_score (Mixup, CutMix) are not '
                'supported by DKT / balanced softmax.')
        return torch.cat([i.gt_label for i in data_samples]).long()

    def active_losses(self) -> List[nn.Module]:
        """The loss modules of the mode in force, in logging order (empty
        for a mode without loss modules, such as the router's)."""
        mode = self.current_mode
        return mode.loss_modules(self) if mode.classifiers else []

    def losses_from_logits(self, loss_modules: Sequence[nn.Module],
                           expert_logits: torch.Tensor,
                           data_samples: List[DataSample],
                           **kwargs) -> Dict[str, torch.Tensor]:
        """Apply ``loss_modules`` to the expert logits
        (:func:`expert_losses`).

        Args:
            loss_modules (Sequence[nn.Module]): In logging order.
            expert_logits (Tensor): Shape (M, B, C).
            data_samples (list[DataSample]): With ``gt_label``.
            **kwargs: Passed to the per-expert loss modules.

        Returns:
            dict[str, Tensor]: One float32 scalar per loss, keyed by
            :func:`loss_key` (stage 1 by default ``loss_ce``, ``loss_dkt``,
            ``loss_mutual``; stage 2 ``loss_bsce``). With ``cal_acc``, also
            ``accuracy_top-k`` of the fused logits.
        """
        logits = upcast_logits(expert_logits)
        target = self.get_targets(data_samples).to(logits.device)
        losses = expert_losses(loss_modules, logits, target,
                               type(self).__name__, **kwargs)
        if self.cal_acc:
            acc = Accuracy.calculate(
                self.fusion(logits), target, topk=self.topk)
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
        """Predict as the mode in force does (its ``predict``).

        Args:
            feats (Sequence[Tensor]): M pooled features, each (B, D).
            data_samples (list[DataSample | None], optional): Samples to
                fill; new ones are created if None.

        Returns:
            list[DataSample]: See :meth:`predictions_from_logits`.
        """
        return self.current_mode.predict(self, feats, data_samples)

    def predicted_logits(self,
                         feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """The (B, C) logits :meth:`predict` takes the softmax of (fused,
        or routed in the router mode), float32."""
        return self.current_mode.predicted_logits(self, feats)

    def predictions_from_logits(
        self,
        expert_logits: torch.Tensor,
        data_samples: Optional[List[Optional[DataSample]]],
        routed: Optional[Tuple[torch.Tensor, torch.Tensor]] = None
    ) -> List[DataSample]:
        """Fill data samples from the expert logits, fused by
        :attr:`fusion` unless ``routed``; see :func:`expert_predictions`
        (``expert_logits`` only with ``keep_expert_logits``)."""
        return expert_predictions(expert_logits, data_samples, routed,
                                  self.keep_expert_logits, self.fusion)
