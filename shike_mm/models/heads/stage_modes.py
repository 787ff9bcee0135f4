# Copyright (c) shike-mm contributors. All rights reserved.
"""The two classifier modes of SHIKE's decoupled training (Jin et al.,
CVPR 2023): representation learning and classifier re-training."""
from typing import List

import torch.nn as nn
from mmpretrain.registry import MODELS

from .expert_head_mode import ExpertHeadMode


@MODELS.register_module()
class ExpertsMode(ExpertHeadMode):
    """``'experts'``: the stage-1 classifiers ``head.classifiers`` trained
    with the head's ``loss``, ``dkt_loss`` and ``mutual_loss`` (those not
    None). The base mode of ``MultiExpertFusionHead`` (no flag)."""

    name = 'experts'
    flag = None
    classifiers = 'classifiers'

    def loss_modules(self, head) -> List[nn.Module]:
        return [
            m for m in (head.loss_module, head.dkt_loss_module,
                        head.mutual_loss_module) if m is not None
        ]


@MODELS.register_module()
class RetrainMode(ExpertHeadMode):
    """``'retrain'``: the retrain classifiers ``head.retrain_classifiers``
    trained with the head's ``retrain_loss`` on detached features (with
    ``detach_feats``, the head's ``detach_retrain_feats``). Recorded in
    the buffer ``retraining_flag``; available only if the head has retrain
    classifiers."""

    name = 'retrain'
    flag = 'retraining_flag'
    classifiers = 'retrain_classifiers'

    def loss_modules(self, head) -> List[nn.Module]:
        return [head.retrain_loss_module]
