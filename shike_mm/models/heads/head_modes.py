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
    """The :class:`~shike_mm.protocols.StagedHead` side of a head whose
    modes are :class:`~shike_mm.protocols.HeadMode` components.

    The owning head sets ``self.modes`` (an ``nn.ModuleDict`` from mode
    name to component, the base mode first) and calls
    :meth:`_register_modes` in ``__init__``. Every mode with a ``flag``
    gets that persistent bool buffer (a :class:`ModeFlags` flag), so the
    mode travels in checkpoints: ``retraining_flag`` (``RetrainMode``,
    registered even by heads without retrain classifiers, whose
    checkpoints have always had it) and ``routing_flag`` (``RouterMode``,
    only with a router).
    """

    def _register_modes(self) -> None:
        """Add the flag buffers of the modes, in the base mode."""
        for mode in self.modes.values():
            if mode.flag is not None and mode.flag not in getattr(
                    self, '_mode_copy', {}):
                self._register_mode_flag(mode.flag)

    def _flag_set(self, mode) -> bool:
        return mode.flag is not None and self._mode_flag(mode.flag)

    @property
    def current_mode(self):
        """HeadMode: The component of the mode in force: a set add-on
        mode (``classifiers=None``), else the mode whose flag is set, else
        the base mode."""
        for mode in self.modes.values():
            if mode.classifiers is None and self._flag_set(mode):
                return mode
        return self.classifier_mode

    @property
    def classifier_mode(self):
        """HeadMode: The mode whose classifier set is in use (the mode in
        force, or for an add-on mode the one before it)."""
        for mode in self.modes.values():
            if mode.classifiers is not None and self._flag_set(mode):
                return mode
        return next(m for m in self.modes.values()
                    if m.classifiers is not None and m.flag is None)

    @property
    def mode(self) -> str:
        """str: The current mode, one of :attr:`available_modes`."""
        return self.current_mode.name

    @property
    def available_modes(self) -> Tuple[str, ...]:
        """tuple[str]: The modes this head supports, the base mode
        first."""
        return tuple(name for name, mode in self.modes.items()
                     if mode.available(self))

    def set_mode(self, mode: str) -> None:
        """Switch to ``mode``. An add-on mode (``classifiers=None``, e.g.
        ``'router'``) keeps the classifier set in use. Only the mode
        changes; freezing parameters is the caller's job (the stage hook).

        Args:
            mode (str): One of :attr:`available_modes`.

        Raises:
            ValueError: For any other mode.
        """
        if mode not in self.available_modes:
            raise ValueError(f'{type(self).__name__}: mode must be one of '
                             f'{self.available_modes}, got {mode!r}')
        target = self.modes[mode]
        for other in self.modes.values():
            if other.flag is None or other.flag not in self._mode_copy:
                continue
            if target.classifiers is None and other.classifiers is not None:
                continue  # an add-on keeps the classifier set
            self._set_mode_flag(other.flag, other is target)
