# Copyright (c) shike-mm contributors. All rights reserved.
from typing import List, Optional

import torch

from ...protocols import ClassCountsConsumer
from ...structures import ClassCounts


def check_class_counts(counts, where: str = 'class counts') -> torch.Tensor:
    """Validate training images per class and return them as float64.

    The validation is :meth:`shike_mm.structures.ClassCounts.of`'s.

    Args:
        counts (ClassCounts | Sequence[int] | Tensor): One non-negative
            count per class.
        where (str): Names the value in errors.

    Returns:
        Tensor: Shape (C, ), float64.

    Raises:
        ValueError: See :meth:`~shike_mm.structures.ClassCounts.of`.
    """
    return ClassCounts.of(counts, where=where).tensor(torch.float64)


class ClassCountBuffer(ClassCountsConsumer):
    """Mixin for a module whose state is one persistent buffer derived from
    the training class counts (``log_prior``, ``class_counts`` ...).

    Implements :class:`~shike_mm.protocols.ClassCountsConsumer` for model
    modules. The buffer is None until the counts arrive
    (:meth:`set_class_counts`, called by ``ClassCountsHook``), so the
    number of classes need not be known at construction. This mixin keeps
    the buffer on the module's device when it is set again, and gives it
    the shape of a loaded state dict's buffer before loading, so that a
    model built without counts loads one (a module's own ``state_dict``
    holds the buffer; a run's checkpoint keeps it only where
    :attr:`count_buffer_in_checkpoint` says so).

    Subclasses name the buffer in ``count_buffer_name``, call
    :meth:`_register_count_buffer` in ``__init__``, implement
    :meth:`set_class_counts` by storing what they derive from
    ``self._class_counts(counts)`` (a validated
    :class:`~shike_mm.structures.ClassCounts`) with
    :meth:`_store_count_buffer`, and call
    :meth:`require_class_counts` before using the buffer. Put the mixin
    before ``nn.Module`` in the bases.
    """

    count_buffer_name = 'class_counts'
    #: Whether checkpoints written by a run keep the buffer. The counts are
    #: stored once, in the checkpoint's ``meta['class_counts']``, and
    #: ``ClassCountsHook`` hands them to the module again in every run, so
    #: what a loss derives from them is left out of the checkpoint
    #: (:func:`derived_count_keys`). A module that predicts with the buffer
    #: sets True, so that loaders that know no hooks (mmpretrain's
    #: ``get_model`` / inferencers) restore it with the weights.
    count_buffer_in_checkpoint = False

    @property
    def has_class_counts(self) -> bool:
        """bool: Whether the class counts have been set."""
        return getattr(self, self.count_buffer_name) is not None

    def require_class_counts(self, num_classes: Optional[int] = None) -> None:
        """Raise unless the counts are set (and cover ``num_classes``).

        Args:
            num_classes (int, optional): The number of classes C of the
                logits about to be used; checked against the buffer.

        Raises:
            RuntimeError: If the counts were never set, saying how to set
                them.
            ValueError: If the buffer covers another number of classes.
        """
        name = type(self).__name__
        buffer = getattr(self, self.count_buffer_name)
        if buffer is None:
            raise RuntimeError(
                f'{name} has no class counts. Add '
                "dict(type='ClassCountsHook') to custom_hooks (it reads the "
                'counts from the training dataset), or pass '
                'class_counts=[...] / call set_class_counts(counts).')
        if num_classes is not None and buffer.numel() != num_classes:
            raise ValueError(
                f'{name} has counts for {buffer.numel()} classes but the '
                f'logits have {num_classes}.')

    def _class_counts(self, counts) -> ClassCounts:
        """``counts`` validated, errors naming this module."""
        return ClassCounts.of(
            counts, where=f'{type(self).__name__}: class counts')

    def _register_count_buffer(self) -> None:
        self.register_buffer(self.count_buffer_name, None, persistent=True)

    def _store_count_buffer(self, value: torch.Tensor) -> None:
        old = getattr(self, self.count_buffer_name)
        if old is not None:
            value = value.to(old.device)
        setattr(self, self.count_buffer_name, value)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        name = self.count_buffer_name
        key = prefix + name
        old = getattr(self, name)
        if key in state_dict and (old is None
                                  or old.shape != state_dict[key].shape):
            setattr(
                self, name,
                torch.empty_like(
                    state_dict[key],
                    dtype=torch.float64,
                    device='cpu' if old is None else old.device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def derived_count_keys(model) -> List[str]:
    """State-dict keys of the count buffers a checkpoint leaves out.

    Args:
        model (nn.Module): The (unwrapped) model.

    Returns:
        list[str]: ``'<module name>.<buffer name>'`` of every
        :class:`ClassCountBuffer` submodule whose
        ``count_buffer_in_checkpoint`` is False, whether or not its buffer
        is set.
    """
    return [
        f'{name}.{module.count_buffer_name}' if name else
        module.count_buffer_name for name, module in model.named_modules()
        if isinstance(module, ClassCountBuffer)
        and not module.count_buffer_in_checkpoint
    ]


def align_derived_count_keys(model, state_dict: dict) -> None:
    """Make the count buffers of a state dict agree with ``model``.

    Checkpoints written before the counts were stored once (in
    ``meta['class_counts']``) hold the buffers that losses derive from
    them (``head.retrain_loss_module.log_prior``). Those are not weights:
    each key of :func:`derived_count_keys` takes the model's own value when
    the model has one (counts already delivered) and is dropped otherwise,
    so that such checkpoints load strictly into today's models.

    Args:
        model (nn.Module): The (unwrapped) model.
        state_dict (dict): Changed in place.
    """
    own = model.state_dict()
    for key in derived_count_keys(model):
        if key in own:
            state_dict[key] = own[key]
        else:
            state_dict.pop(key, None)
