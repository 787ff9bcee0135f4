# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Any, Dict, Optional, Union

from mmengine.dist import is_main_process
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmpretrain.registry import RUNNERS
from torch import nn

from shike_mm.engine.checkpoint_io import read_last_checkpoint
from shike_mm.engine.compile_step import compile_train_step
from shike_mm.engine.work_dir_lock import WorkDirLock
from shike_mm.utils.compile_support import compile_fallback_warning
from .checkpoint_safety import load_weights, read_checked_checkpoint
from .distributed_setup import (default_wrapper_cfg, init_cpu_process_group,
                                needs_cpu_process_group)
from .loss_reduction_check import check_loss_reductions
from .resume_config_diff import check_resumed_config


@RUNNERS.register_module()
class DeviceAwareRunner(Runner):
    """An mmengine :class:`Runner` whose distributed set-up follows the
    hardware it finds and which loads checkpoints defensively.

    It composes:

    - :mod:`.distributed_setup`: a ``gloo`` process group on machines
      without a usable GPU, and
      :class:`DeviceAwareDistributedDataParallel` as the default wrapper
      (with GPUs, mmengine's own code path and the configured backend);
    - :func:`~shike_mm.utils.compile_support.compile_fallback_warning`:
      ``compile`` falls back to eager mode, with a warning, where the
      toolchain is missing;
    - :mod:`.loss_reduction_check`: loss modules with an unknown
      ``reduction`` are refused when the model is built;
    - :mod:`.checkpoint_safety`: weights-only unpickling, a structural
      check before mmengine copies anything, and tensors that must fit the
      model when testing or resuming;
    - :mod:`.resume_config_diff`: on resume, the checkpoint's config is
      compared with the current one;
    - :class:`~shike_mm.engine.work_dir_lock.WorkDirLock` and
      :func:`~shike_mm.engine.checkpoint_io.read_last_checkpoint`: one run
      per work directory, and a ``last_checkpoint`` relative to it.

    Everything else is mmengine's :class:`Runner`; configs select it with
    ``runner_type = 'DeviceAwareRunner'`` (the project's default runtime
    does) and ``tools/train.py`` uses it when a config names no runner.
    """

    #: Set while testing, validating or resuming: the checkpoint's tensors
    #: must fit the model (:func:`.checkpoint_safety.load_weights`).
    _checkpoint_must_fit = False
    #: Set while resuming: the checkpoint's config is compared.
    _resuming = False

    # ------------------------------------------------------------------
    # Environment and model
    # ------------------------------------------------------------------
    def setup_env(self, env_cfg: Dict) -> None:
        """Initialise a gloo process group on CPU-only machines, then run
        mmengine's environment set-up (which skips ``init_dist`` once a
        process group exists).

        Args:
            env_cfg (dict): The config's ``env_cfg``.
        """
        if needs_cpu_process_group(self.distributed):
            init_cpu_process_group(self.launcher, env_cfg)
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict],
                   model: nn.Module) -> nn.Module:
        """Use the device-aware DDP wrapper by default when distributed.

        Args:
            model_wrapper_cfg (dict, optional): The config's
                ``model_wrapper_cfg``; left untouched when given.
            model (nn.Module): The model to wrap.
        """
        if self.distributed and model_wrapper_cfg is None:
            model_wrapper_cfg = default_wrapper_cfg(
                self.cfg.get('find_unused_parameters', False))
        return super().wrap_model(model_wrapper_cfg, model)

    def _maybe_compile(self, target: str) -> None:
        """Compile ``target`` (``train_step``) as mmengine does when the
        config sets ``compile``, unless this machine cannot: without a C++
        compiler (Inductor on a CPU) or Triton (on a GPU) the run goes on
        eagerly, with a warning naming what is missing, instead of failing
        at its first step.

        Args:
            target (str): The model method to compile.
        """
        compile_cfg = self.cfg.get('compile', None)
        warning = compile_fallback_warning(compile_cfg, self.model)
        if warning is not None:
            self.logger.warning(warning)
            return
        # the loss forward only: the optimizer wrapper's counter would
        # recompile a compiled train_step every step (compile_step.py)
        if target == 'train_step' and compile_train_step(
                self.model, compile_cfg):
            self.logger.info('Compiled the loss forward of train_step; the '
                             'first iterations will be slow.')
            return
        super()._maybe_compile(target)

    def build_model(self, model: Union[nn.Module, Dict]) -> nn.Module:
        """Build the model, then refuse mmpretrain loss modules whose
        ``reduction`` is not one of ``'none'``, ``'mean'``, ``'sum'``.

        Args:
            model (nn.Module or dict): The model or its config.
        """
        model = super().build_model(model)
        check_loss_reductions(model)
        return model

    # ------------------------------------------------------------------
    # Training
    # ------------------------------------------------------------------
    def train(self) -> nn.Module:
        """Train while holding the work directory's lock
        (:class:`~shike_mm.engine.work_dir_lock.WorkDirLock`): a second
        run in the same work directory refuses to start, naming the
        first."""
        lock = None
        if is_main_process():
            lock = WorkDirLock(self.work_dir, warn=self.logger.warning)
            lock.acquire()
        try:
            return super().train()
        finally:
            if lock is not None:
                lock.release()

    def load_or_resume(self) -> None:
        """mmengine's ``load_or_resume``, reading ``last_checkpoint``
        relative to the work directory
        (:func:`~shike_mm.engine.checkpoint_io.read_last_checkpoint`) so
        that a moved or copied work directory resumes, and failing with
        the pointer's content when it names a missing file."""
        if self._has_loaded:
            return None
        if self._resume and self._load_from is None:
            resume_from = read_last_checkpoint(self.work_dir)
            if resume_from is None:
                self.logger.info(
                    f'No last_checkpoint in {self.work_dir}: training '
                    'starts from the beginning.')
                return None
            self.logger.info(
                f'Auto resumed from the latest checkpoint {resume_from}.')
            self.resume(resume_from)
            self._has_loaded = True
            return None
        return super().load_or_resume()

    # ------------------------------------------------------------------
    # Checkpoints
    # ------------------------------------------------------------------
    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Any] = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):
        """Load a checkpoint into the model, checking it first
        (:mod:`.checkpoint_safety`; on resume also
        :meth:`check_resumed_config`).

        Args:
            filename (str): Path or URL of the checkpoint.
            map_location (str or callable): As for ``torch.load``.
            strict (bool): Passed to mmengine's loading of the weights
                when they need not fit exactly (``load_from``).
            revise_keys (list): ``(pattern, replacement)`` pairs applied to
                the checkpoint's keys.
        """
        checkpoint = read_checked_checkpoint(filename, map_location)
        if self._resuming:
            self.check_resumed_config(checkpoint, filename)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        checkpoint = load_weights(model, checkpoint, filename, strict,
                                  revise_keys, self._checkpoint_must_fit)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def check_resumed_config(self, checkpoint: dict, filename: str) -> None:
        """Compare the config stored in a checkpoint with the current one
        (:func:`.resume_config_diff.check_resumed_config`); a difference
        is an error unless the config sets ``resume_anyway=True``.

        Args:
            checkpoint (dict): The loaded checkpoint.
            filename (str): Named in the message.
        """
        check_resumed_config(checkpoint, filename, self.cfg, self.logger)

    def resume(self, filename: str, *args, **kwargs) -> None:
        """mmengine's ``resume`` with the checks of
        :meth:`load_checkpoint` for a resumed run (the weights must fit,
        the config must match)."""
        self._checkpoint_must_fit = self._resuming = True
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._checkpoint_must_fit = self._resuming = False

    def test(self) -> dict:
        """Evaluate; the checkpoint's tensors must fit the model."""
        self._checkpoint_must_fit = True
        try:
            return super().test()
        finally:
            self._checkpoint_must_fit = False

    def val(self) -> dict:
        """Validate; the checkpoint's tensors must fit the model."""
        self._checkpoint_must_fit = True
        try:
            return super().val()
        finally:
            self._checkpoint_must_fit = False
