# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Sequence

import torch


def check_class_counts(counts: Sequence[int]) -> torch.Tensor:
    """Validate training images per class and return them as float64.

    Args:
        counts (Sequence[int] | Tensor): One non-negative count per class.

    Returns:
        Tensor: Shape (C, ), float64.

    Raises:
        ValueError: For no class or a negative count.
    """
    counts = torch.as_tensor(counts, dtype=torch.float64).flatten()
    if counts.numel() == 0:
        raise ValueError('class counts must not be empty')
    if (counts < 0).any():
        raise ValueError('class counts must be non-negative')
    return counts


class ClassCountBuffer:
    """Mixin for a module whose state is one persistent buffer derived from
    the training class counts (``log_prior``, ``class_counts`` ...).

    The buffer is None until the counts arrive (``set_class_counts``, called
    by ``ClassCountsHook``), so the number of classes need not be known at
    construction. This mixin keeps the buffer on the module's device when
    it is set again, and gives it the checkpoint's shape before loading, so
    that a model built without counts (e.g. by ``tools/test.py``) loads the
    ones stored in a checkpoint.

    Subclasses name the buffer in ``count_buffer_name``, call
    :meth:`_register_count_buffer` in ``__init__`` and store values with
    :meth:`_store_count_buffer`. Put the mixin before ``nn.Module`` in the
    bases.
    """

    count_buffer_name = 'class_counts'

    @property
    def has_class_counts(self) -> bool:
        """bool: Whether the class counts have been set."""
        return getattr(self, self.count_buffer_name) is not None

    def _require_counts(self, num_classes=None) -> None:
        """Raise unless the counts are set (and cover ``num_classes``)."""
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
