# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Optional

from mmpretrain.models.heads import LinearClsHead
from mmpretrain.registry import MODELS

from ..utils.cosine_classifier import CosineClassifier


@MODELS.register_module()
class CosineClsHead(LinearClsHead):
    """``LinearClsHead`` with the cosine classifier in place of ``nn.Linear``.

    ``logits = scale * normalize(x) @ normalize(W)^T`` (no bias), the
    ``NormedLinear`` of the LDAM-DRW reference code
    (github.com/kaidic/LDAM-DRW) and the classifier of the SHIKE / RIDE
    experts. LDAM-DRW keeps the classifier unscaled (``scale=1``) and lets
    the loss multiply by its ``s``; a plain CE on a cosine classifier needs a
    scale such as 30. Everything else (loss, ``cal_acc``, predictions) is
    ``LinearClsHead``'s; the classifier is still called ``fc``.

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Feature dimension D.
        scale (float): Logit scale s. Defaults to 30.0.
        init_cfg (dict, optional): Defaults to None: the cosine classifier
            initialises itself (uniform(-1, 1), rows renormalised).
        **kwargs: ``loss``, ``topk``, ``cal_acc`` of ``LinearClsHead``.

    Shapes:
        - input: tuple of (B, D) features (the last one is used)
        - output: (B, C) logits in [-scale, scale]
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 scale: float = 30.0,
                 init_cfg: Optional[dict] = None,
                 **kwargs):
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            init_cfg=init_cfg,
            **kwargs)
        self.fc = CosineClassifier(in_channels, num_classes, scale=scale)
