# Copyright (c) shike-mm contributors. All rights reserved.
import inspect
from typing import Optional, Union

import torch.nn as nn
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS


@MODELS.register_module()
class MultiExpertClassifier(ImageClassifier):
    """mmpretrain's ``ImageClassifier`` for a multi-expert backbone: the
    number of experts is written once, in ``model.backbone.num_experts``,
    and handed to the head.

    The backbone is built first; a head whose constructor takes
    ``num_experts`` (``MultiExpertFusionHead``) gets the backbone's value.
    A head config that also sets it must agree, otherwise the build fails
    naming both fields (before, a mismatch surfaced at the first forward
    pass). Everything else, including the order in which parts are built
    and so the random initialisation, is ``ImageClassifier``'s.

    Args:
        backbone (dict | nn.Module): A backbone with ``num_experts`` (M).
        neck (dict | nn.Module, optional): Defaults to None.
        head (dict | nn.Module, optional): Defaults to None.
        **kwargs: The other arguments of ``ImageClassifier``.
    """

    def __init__(self,
                 backbone: Union[dict, nn.Module],
                 neck: Optional[Union[dict, nn.Module]] = None,
                 head: Optional[Union[dict, nn.Module]] = None,
                 **kwargs):
        if not isinstance(backbone, nn.Module):
            backbone = MODELS.build(backbone)
        num_experts = getattr(backbone, 'num_experts', None)
        if num_experts is None:
            raise ValueError(
                f'MultiExpertClassifier: the backbone '
                f'{type(backbone).__name__} has no num_experts; use '
                "type='ImageClassifier' for a single-path model")
        head = self._head_with_experts(head, num_experts)
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)

    @staticmethod
    def _head_with_experts(head, num_experts: int):
        """``head`` with ``num_experts`` set if its type takes it."""
        if head is None:
            return None
        if isinstance(head, nn.Module):
            given = getattr(head, 'num_experts', num_experts)
        else:
            head = dict(head)
            head_type = head.get('type')
            if isinstance(head_type, str):
                head_type = MODELS.get(head_type)
            takes = head_type is not None and 'num_experts' in \
                inspect.signature(head_type).parameters
            given = head.get('num_experts', num_experts)
            if takes:
                head['num_experts'] = given
        if given != num_experts:
            raise ValueError(
                f'MultiExpertClassifier: model.head.num_experts={given!r} '
                f'but model.backbone.num_experts={num_experts}; set it once, '
                'in model.backbone (the head takes the backbone\'s)')
        return head
