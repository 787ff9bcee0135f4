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

from ..losses.loss_names import loss_key
from ..losses.utils import upcast_logits
from ..utils.arg_checks import check_num_experts


@MODELS.register_module()
class MultiExpertFusionHead(ClsHead):
    """Per-expert classifiers, mean-logit prediction and the losses of a
    multi-expert model (SHIKE's two stages).

    Input is the neck's tuple of M pooled expert features. Every expert has
    its own classifier; the prediction is the mean of the experts' logits.
    The head follows mmpretrain's ``ClsHead`` split: ``forward`` (traceable)
    returns the mean logits, ``loss`` and ``predict`` compute the (M, B, C)
    expert logits and hand them to :meth:`_get_loss` /
    :meth:`_get_predictions`.

    Two classifier sets exist from construction and both live in the state
    dict: ``classifiers`` (stage 1, representation learning) and
    ``retrain_classifiers`` (stage 2, classifier re-training). The current
    mode is the persistent bool buffer ``retraining_flag`` (in checkpoints,
    so testing a stage-2 checkpoint predicts with the retrain classifiers);
    change it with :meth:`set_mode` (``'experts'`` / ``'retrain'``, called
    by ``StageSwitchHook``), read it with :attr:`retraining`.

    Losses. A loss module that sets ``takes_expert_logits = True`` (DKT,
    mutual KL, RIDE's loss) is called once with the (M, B, C) logits and the
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
      ``router`` (an :class:`~shike_mm.models.utils.ExpertRouter`) learns,
      from the pooled features and the logits of the classifier set in use
      (the retrain classifiers after a retraining stage), with its BCE loss
      ``loss_router``. From then on predictions are routed: a sample stops
      at the first expert whose router says no, the prediction is the mean
      of the experts it used, and each predicted ``DataSample`` records
      ``num_experts`` (the metric reports the mean and the relative cost).

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Feature dimension D of every expert.
        num_experts (int): Number of experts M. Defaults to 3.
        classifier (dict): Classifier config, built with ``in_features`` and
            ``out_features``. ``dict(type='CosineClassifier', scale=30.0)``
            (default) or ``dict(type='Linear', bias=True)`` for a plain
            ``nn.Linear`` (Kaiming-normal init through ``init_cfg``). Its
            ``scale`` (if any) bounds the logits and is handed to every loss
            that defines ``set_logit_scale`` (DKT's target fill value).
        loss (dict): Stage-1 loss. Defaults to
            ``dict(type='CrossEntropyLoss', loss_weight=1.0)``.
        dkt_loss (dict, optional): Defaults to
            ``dict(type='DKTLoss', loss_weight=10.0)``. None disables it.
        mutual_loss (dict, optional): Defaults to
            ``dict(type='MutualKLLoss', loss_weight=1.0)``. None disables it.
        retrain_loss (dict, optional): Stage-2 loss. Defaults to
            ``dict(type='BalancedSoftmaxLoss')`` (class counts arrive through
            ``set_class_counts``, called by ``ClassCountsHook``). None: no
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

    modes = ('experts', 'retrain', 'router')

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
        self.classifier_cfg = copy.deepcopy(classifier)

        self.classifiers = nn.ModuleList(
            [self._build_classifier() for _ in range(num_experts)])
        self.retrain_classifiers = None
        if retrain_loss is not None:
            self.retrain_classifiers = nn.ModuleList(
                [self._build_classifier() for _ in range(num_experts)])

        self.dkt_loss_module = self._build_loss(dkt_loss)
        self.mutual_loss_module = self._build_loss(mutual_loss)
        self.retrain_loss_module = self._build_loss(retrain_loss)
        self.register_buffer(
            'retraining_flag', torch.tensor(False), persistent=True)
        # Python copies of the mode buffers, see _mode_flag
        self._mode_copy = {'retraining_flag': False}
        self.router = None
        if router is not None:
            router = copy.deepcopy(router)
            router.update(in_channels=in_channels, num_experts=num_experts)
            self.router = MODELS.build(router)
            # Only models with a router carry this buffer, so checkpoints
            # of models without one keep their keys.
            self.register_buffer(
                'routing_flag', torch.tensor(False), persistent=True)
            self._mode_copy['routing_flag'] = False

        scale = getattr(self.classifiers[0], 'scale', None)
        for module in (self.loss_module, self.dkt_loss_module,
                       self.mutual_loss_module, self.retrain_loss_module):
            if callable(getattr(module, 'set_logit_scale', None)):
                module.set_logit_scale(scale)

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
    # modes
    # ------------------------------------------------------------------
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

    def _mode_flag(self, name: str) -> bool:
        """The value of the bool buffer ``name``. The buffer is the truth
        (it is in checkpoints); a Python copy of it, kept in step by
        :meth:`set_mode` and state-dict loading, is what ``torch.compile``
        reads, so a compiled step guards on a Python bool instead of
        breaking its graph to read a tensor."""
        if torch.compiler.is_compiling():
            return self._mode_copy[name]
        value = self._mode_copy[name] = bool(getattr(self, name))
        return value

    def _sync_mode_copy(self) -> None:
        """Copy the mode buffers into ``_mode_copy``."""
        for name in self._mode_copy:
            self._mode_copy[name] = bool(getattr(self, name))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._sync_mode_copy()

    @property
    def mode(self) -> str:
        """str: The current mode, one of :attr:`available_modes`."""
        if self.routing:
            return 'router'
        return 'retrain' if self.retraining else 'experts'

    @property
    def available_modes(self) -> Tuple[str, ...]:
        """tuple[str]: The modes this head supports."""
        return tuple(
            m for m in self.modes
            if (m != 'retrain' or self.retrain_classifiers is not None) and (
                m != 'router' or self.router is not None))

    def set_mode(self, mode: str) -> None:
        """Switch to ``'experts'`` (stage 1), ``'retrain'`` (classifier
        re-training) or ``'router'`` (router training and routed
        predictions, keeping the classifier set in use). Only the mode
        changes; freezing parameters is the caller's job
        (``StageSwitchHook``).
        """
        if mode not in self.available_modes:
            raise ValueError(f'{type(self).__name__}: mode must be one of '
                             f'{self.available_modes}, got {mode!r}')
        if mode != 'router':
            self.retraining_flag.fill_(mode == 'retrain')
        if self.router is not None:
            self.routing_flag.fill_(mode == 'router')
        self._sync_mode_copy()

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
    def loss(self, feats: Sequence[torch.Tensor],
             data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Compute the losses of the current mode.

        Args:
            feats (Sequence[Tensor]): M pooled features, each (B, D).
            data_samples (list[DataSample]): With ``gt_label``.
            **kwargs: Passed to the per-expert loss modules.

        Returns:
            dict[str, Tensor]: See :meth:`_get_loss`.
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
        """Losses of the current mode from the expert logits.

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
        losses = dict()
        for module in self.active_losses():
            key = loss_key(module)
            if key in losses:
                raise ValueError(
                    f'{type(self).__name__}: two active losses log as '
                    f'{key!r}; give one of them a distinct loss_name')
            if getattr(module, 'takes_expert_logits', False):
                losses[key] = module(logits, target)
            else:
                losses[key] = sum(
                    module(z, target, avg_factor=z.size(0), **kwargs)
                    for z in logits)
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
        """Fill data samples from the expert logits.

        Args:
            expert_logits (Tensor): Shape (M, B, C).
            data_samples (list[DataSample | None], optional): Samples to
                fill; new ones are created if None.
            routed (tuple[Tensor], optional): Routed inference: the mean
                logits of the experts each sample used (B, C) and their
                number (B, ), from ``ExpertRouter.predict``.

        Returns:
            list[DataSample]: Each with ``pred_score`` (C, ) = softmax of the
            mean logits (of the experts used) and ``pred_label`` (1, ); with
            routing also ``num_experts`` (int); with ``keep_expert_logits``
            also ``expert_logits`` (M, C), the raw logits of every expert
            (float32, detached).
        """
        expert_logits = expert_logits.detach().float()
        num_experts_used = None
        if routed is None:
            mean_logits = expert_logits.mean(dim=0)
        else:
            mean_logits, num_experts_used = routed
            mean_logits = mean_logits.detach().float()
        pred_scores = F.softmax(mean_logits, dim=1)
        pred_labels = pred_scores.argmax(dim=1, keepdim=True)

        if data_samples is None:
            data_samples = [None] * pred_scores.size(0)
        out = []
        for i, (data_sample, score, label) in enumerate(
                zip(data_samples, pred_scores, pred_labels)):
            if data_sample is None:
                data_sample = DataSample()
            data_sample.set_pred_score(score).set_pred_label(label)
            if num_experts_used is not None:
                data_sample.set_field(
                    int(num_experts_used[i]), 'num_experts',
                    field_type='metainfo')
            if self.keep_expert_logits:
                data_sample.set_field(
                    expert_logits[:, i], 'expert_logits', dtype=torch.Tensor)
            out.append(data_sample)
        return out
