# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Dict, Tuple

import torch

from ...protocols import StagedHead


class ModeFlags:
    """Mixin for a module whose mode is a few persistent bool buffers.

    The buffers are the truth: they are in checkpoints, so a test of a
    finished run uses the mode the run ended in. ``torch.compile`` should
    not read them, though: a tensor read in Python breaks the graph. So
    every flag has a Python mirror, kept in step by :meth:`_set_mode_flag`
    and by state-dict loading; a compiled step reads the mirror and guards
    on a Python bool (recompiling once per mode, not per step).

    Register flags with :meth:`_register_mode_flag` in ``__init__`` (after
    ``nn.Module.__init__``), read them with :meth:`_mode_flag`, set them
    with :meth:`_set_mode_flag`. Put the mixin before ``nn.Module`` in the
    bases.
    """

    _mode_copy: Dict[str, bool]

    def _register_mode_flag(self, name: str) -> None:
        """Add the persistent bool buffer ``name`` (False) and its
        mirror."""
        if '_mode_copy' not in self.__dict__:
            self._mode_copy = {}
        self.register_buffer(name, torch.tensor(False), persistent=True)
        self._mode_copy[name] = False

    def _mode_flag(self, name: str) -> bool:
        """The value of the flag ``name``: the mirror while compiling, the
        buffer (refreshing the mirror) otherwise."""
        if torch.compiler.is_compiling():
            return self._mode_copy[name]
        value = self._mode_copy[name] = bool(getattr(self, name))
        return value

    def _set_mode_flag(self, name: str, value: bool) -> None:
        """Set the flag ``name`` in the buffer and the mirror."""
        getattr(self, name).fill_(bool(value))
        self._mode_copy[name] = bool(value)

    def _sync_mode_copy(self) -> None:
        """Copy every buffer into its mirror."""
        for name in self._mode_copy:
            self._mode_copy[name] = bool(getattr(self, name))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._sync_mode_copy()


class ExpertHeadModes(ModeFlags, StagedHead):
    """The modes of a multi-expert head: which classifier set it uses and
    whether it routes.

    - ``'experts'`` (representation learning): the stage-1 classifiers
      ``classifiers`` and losses.
    - ``'retrain'`` (decoupled classifier re-training): the retrain
      classifiers ``retrain_classifiers`` and the retrain loss. Only if the
      head has retrain classifiers.
    - ``'router'`` (RIDE's expert assignment): the router learns, and
      predictions are routed, with the classifier set in use before (the
      retrain classifiers after a retraining stage). Only if the head has a
      ``router``.

    Implements :class:`~shike_mm.protocols.StagedHead`. The mode is two
    :class:`ModeFlags`: ``retraining_flag`` (always) and ``routing_flag``
    (only with a router, so checkpoints of heads without one keep their
    keys). The owning head sets ``retrain_classifiers`` and ``router``
    (None when absent) and calls :meth:`_register_modes` in ``__init__``.
    """

    modes = ('experts', 'retrain', 'router')

    def _register_modes(self) -> None:
        """Add the mode buffers, in the ``'experts'`` mode."""
        self._register_mode_flag('retraining_flag')
        if self.router is not None:
            self._register_mode_flag('routing_flag')

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
        """Switch to ``'experts'``, ``'retrain'`` or ``'router'`` (which
        keeps the classifier set in use). Only the mode changes; freezing
        parameters is the caller's job (the stage hook).

        Args:
            mode (str): One of :attr:`available_modes`.

        Raises:
            ValueError: For any other mode.
        """
        if mode not in self.available_modes:
            raise ValueError(f'{type(self).__name__}: mode must be one of '
                             f'{self.available_modes}, got {mode!r}')
        if mode != 'router':
            self._set_mode_flag('retraining_flag', mode == 'retrain')
        if self.router is not None:
            self._set_mode_flag('routing_flag', mode == 'router')
