# Copyright (c) shike-mm contributors. All rights reserved.
import atexit
import datetime
import os
from typing import Any, Dict, List, Optional, Union

import torch
import torch.distributed as torch_dist
from mmengine.dist import is_distributed, is_main_process
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from mmpretrain.registry import RUNNERS
from torch import nn

from shike_mm.utils.checkpoint_check import (CheckpointError,
                                             check_checkpoint_structure,
                                             config_from_text,
                                             load_checkpoint_file,
                                             state_dict_mismatches)
from shike_mm.engine.checkpoint_io import read_last_checkpoint
from shike_mm.engine.compile_step import compile_train_step
from shike_mm.engine.hooks.finite_loss_hook import (list_names,
                                                    non_finite_tensors)
from shike_mm.engine.work_dir_lock import WorkDirLock
from shike_mm.utils.compile_support import compile_unavailable

#: Config sections compared on resume (data, model, schedule), and the
#: loader settings within them that may change freely.
RESUME_COMPARED = ('model', 'train_dataloader', 'optim_wrapper',
                   'param_scheduler', 'train_cfg')
RESUME_IGNORED = ('num_workers', 'persistent_workers', 'pin_memory',
                  'prefetch_factor')
LOSS_REDUCTIONS = ('none', 'mean', 'sum')


def _destroy_process_group() -> None:
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.destroy_process_group()


@RUNNERS.register_module()
class DeviceAwareRunner(Runner):
    """An mmengine :class:`Runner` whose distributed set-up follows the
    hardware it finds.

    Two things in mmengine 0.10 assume one CUDA device per process:

    - the ``pytorch`` launcher calls ``torch.cuda.set_device(LOCAL_RANK)``
      unconditionally and initialises the backend named in
      ``env_cfg.dist_cfg`` (``nccl`` in mmpretrain's default runtime);
    - the default DDP wrapper is built with ``device_ids=[LOCAL_RANK]``.

    On a machine without a usable GPU this runner initialises the process
    group itself with the ``gloo`` backend (no ``set_device``) and, unless
    the config names its own ``model_wrapper_cfg``, wraps the model in
    :class:`DeviceAwareDistributedDataParallel`, which drops ``device_ids``
    for CPU modules. With GPUs nothing changes: the configured backend
    (``nccl``) and mmengine's own code path are used.

    Checkpoints are loaded defensively (see :meth:`load_checkpoint`):
    weights-only unpickling, a structural check before mmengine copies
    anything, tensors that must fit the model when testing or resuming,
    and on resume a comparison of the checkpoint's config with the current
    one. Loss modules with an unknown ``reduction`` are refused when the
    model is built.

    Everything else is mmengine's :class:`Runner`; configs select it with
    ``runner_type = 'DeviceAwareRunner'`` (the project's default runtime
    does) and ``tools/train.py`` uses it when a config names no runner.
    """

    def setup_env(self, env_cfg: Dict) -> None:
        """Initialise a gloo process group on CPU-only machines, then run
        mmengine's environment set-up (which skips ``init_dist`` once a
        process group exists).

        Args:
            env_cfg (dict): The config's ``env_cfg``.
        """
        if (self.distributed and not is_distributed()
                and not torch.cuda.is_available()):
            if self.launcher != 'pytorch':
                raise RuntimeError(
                    f'launcher={self.launcher!r} without a GPU is not '
                    "supported; use launcher='pytorch' (torchrun, "
                    'tools/dist_train.sh) for CPU-only distributed runs.')
            dist_cfg = dict(env_cfg.get('dist_cfg', {}))
            backend = dist_cfg.pop('backend', 'gloo')
            if backend != 'gloo':
                # The config asks for a GPU backend but there is no GPU:
                # say so rather than failing inside torch.cuda.
                print(f'[shike_mm] no CUDA device: using the gloo backend '
                      f'instead of {backend!r}.', flush=True)
            timeout = dist_cfg.pop('timeout', None)
            if timeout is not None:
                dist_cfg['timeout'] = datetime.timedelta(seconds=timeout)
            dist_cfg.pop('init_backend', None)
            torch_dist.init_process_group(
                backend='gloo',
                rank=int(os.environ['RANK']),
                world_size=int(os.environ['WORLD_SIZE']),
                **dist_cfg)
            # Tear the group down before the interpreter does: left to
            # interpreter shutdown, gloo's threads can abort the process
            # ("terminate called without an active exception") after the
            # run has finished and saved its checkpoint.
            atexit.register(_destroy_process_group)
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
            model_wrapper_cfg = dict(
                # Scoped name: mmengine looks wrappers up in its own root
                # registry, which reaches mmpretrain's only by scope.
                type='mmpretrain.DeviceAwareDistributedDataParallel',
                broadcast_buffers=False,
                find_unused_parameters=self.cfg.get('find_unused_parameters',
                                                    False))
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
        param = next(self.model.parameters(), None)
        problem = compile_unavailable(
            compile_cfg, on_gpu=None if param is None else param.is_cuda)
        if problem is not None:
            self.logger.warning(
                f'compile={compile_cfg!r} is not used: {problem}. Training '
                'runs without torch.compile (same results, slower); set '
                'compile=False to silence this.')
            return
        # the loss forward only: the optimizer wrapper's counter would
        # recompile a compiled train_step every step (compile_step.py)
        if target == 'train_step' and compile_train_step(
                self.model, compile_cfg):
            self.logger.info('Compiled the loss forward of train_step; the '
                             'first iterations will be slow.')
            return
        super()._maybe_compile(target)

    # ------------------------------------------------------------------
    # Building
    # ------------------------------------------------------------------
    def build_model(self, model: Union[nn.Module, Dict]) -> nn.Module:
        """Build the model, then refuse mmpretrain loss modules whose
        ``reduction`` is not one of ``'none'``, ``'mean'``, ``'sum'``
        (mmpretrain checks it only when the loss is first called; the
        project's own losses check it in their constructors).

        Args:
            model (nn.Module or dict): The model or its config.
        """
        model = super().build_model(model)
        for name, module in model.named_modules():
            reduction = getattr(module, 'reduction', None)
            if (isinstance(reduction, str) and reduction not in
                    LOSS_REDUCTIONS and type(module).__module__.startswith(
                        'mmpretrain.models.losses')):
                raise ValueError(
                    f'model.{name} ({type(module).__name__}): reduction='
                    f'{reduction!r} is not one of {LOSS_REDUCTIONS}')
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
    _checkpoint_must_fit = False
    _resuming = False

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Any] = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):
        """Load a checkpoint into the model, checking it first.

        Compared with mmengine's version:

        - the file is read with the weights-only unpickler, and a refusal
          says why without advising to turn the check off;
        - :func:`check_checkpoint_structure` refuses anything but plain
          data (and well-formed HistoryBuffers in the message hub) before
          any hook or mmengine code copies or compares it; the legacy
          ``meta['config']`` (which mmengine's ``resume`` would execute
          as Python) is dropped;
        - when resuming, the checkpoint's config is compared with the
          current one (:meth:`check_resumed_config`);
        - when testing or resuming, tensors of the wrong shape, missing,
          unexpected or non-tensor entries, tensors holding nan/inf and
          tensors that cannot be copied into the model are an error naming
          them (mmengine only warns, and evaluates a half-loaded model).
          Loading weights with ``load_from`` for training keeps mmengine's
          warnings, so a backbone can be fine-tuned with a new head.

        Args:
            filename (str): Path or URL of the checkpoint.
            map_location (str or callable): As for ``torch.load``.
            strict (bool): Passed to mmengine's loading of the weights.
            revise_keys (list): ``(pattern, replacement)`` pairs applied to
                the checkpoint's keys.
        """
        checkpoint = load_checkpoint_file(filename, map_location)
        check_checkpoint_structure(checkpoint, filename)
        meta = checkpoint.get('meta')
        if isinstance(meta, dict) and 'config' in meta:
            meta.pop('config')
        if self._resuming:
            self.check_resumed_config(checkpoint, filename)

        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        if not self._checkpoint_must_fit:
            checkpoint = _load_checkpoint_to_model(
                model, checkpoint, strict, revise_keys=revise_keys)
        else:
            self._check_weights_fit(model, checkpoint, filename, revise_keys)
            try:
                # strict: a tensor that cannot be copied is an error, not
                # a logged warning before evaluating a random layer
                checkpoint = _load_checkpoint_to_model(
                    model, checkpoint, True, revise_keys=revise_keys)
            except RuntimeError as err:
                raise CheckpointError(
                    f'checkpoint {filename}: tensors could not be copied '
                    f'into the model:\n{err}') from None
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    @staticmethod
    def _check_weights_fit(model: nn.Module, checkpoint: dict, filename: str,
                           revise_keys: list) -> None:
        state_dict = checkpoint.get('state_dict', checkpoint)
        mismatched, missing, unexpected = state_dict_mismatches(
            model, state_dict, revise_keys)
        not_tensors = [f'{key}: a {type(value).__name__}'
                       for key, value in state_dict.items()
                       if not isinstance(value, torch.Tensor)]
        problems: List[str] = []
        for title, names in (('shape mismatch', mismatched),
                             ('missing from the checkpoint', missing),
                             ('not in the model', unexpected),
                             ('not a tensor', not_tensors)):
            if names:
                shown = '\n    '.join(names[:20])
                more = (f'\n    ... and {len(names) - 20} more'
                        if len(names) > 20 else '')
                problems.append(f'  {title} ({len(names)}):\n    '
                                f'{shown}{more}')
        if problems:
            raise CheckpointError(
                f'checkpoint {filename} does not fit the model of this '
                'config:\n' + '\n'.join(problems) + '\nIs it the '
                'checkpoint of this config (number of classes, backbone, '
                'head)?')
        bad = non_finite_tensors(state_dict)
        if bad:
            shown = list_names(bad)
            raise CheckpointError(
                f'checkpoint {filename}: {len(bad)} tensor(s) hold nan/inf '
                f'({shown}); evaluating or resuming it would give '
                'meaningless results. The run that wrote it diverged: use '
                'an earlier checkpoint.')

    def check_resumed_config(self, checkpoint: dict, filename: str) -> None:
        """Compare the config stored in a checkpoint with the current one.

        The sections ``model``, ``train_dataloader``, ``optim_wrapper``,
        ``param_scheduler`` and ``train_cfg`` are compared (loader settings
        such as ``num_workers`` excepted). A difference is an error unless
        the config sets ``resume_anyway=True`` (``tools/train.py
        --resume-anyway``), in which case it is a warning.

        Args:
            checkpoint (dict): The loaded checkpoint.
            filename (str): Named in the message.
        """
        meta = checkpoint.get('meta') or {}
        text = meta.get('cfg') if isinstance(meta, dict) else None
        if not isinstance(text, str):
            self.logger.warning(
                f'{filename} stores no config; cannot check that it comes '
                'from the same data, model and schedule as this run.')
            return
        old = config_from_text(text)
        new = config_from_text(self.cfg.pretty_text)
        diffs: List[str] = []
        for section in RESUME_COMPARED:
            _diff(old.get(section), new.get(section), section, diffs)
        if not diffs:
            return
        shown = '\n  '.join(diffs[:15])
        more = f'\n  ... and {len(diffs) - 15} more' if len(diffs) > 15 \
            else ''
        message = (f'the checkpoint being resumed ({filename}) was trained '
                   f'with a different config:\n  {shown}{more}\n'
                   '(checkpoint value -> current value)')
        if self.cfg.get('resume_anyway', False):
            self.logger.warning(message + '\nresume_anyway=True: going on.')
            return
        raise CheckpointError(
            message + '\nIs this work directory holding another run? Use '
            'another --work-dir, or pass --resume-anyway (resume_anyway='
            'True) to resume with the current config.')

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


def _diff(old, new, path: str, out: List[str]) -> None:
    """Append ``'path: old -> new'`` for every leaf that differs."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            if key in RESUME_IGNORED:
                continue
            _diff(old.get(key, '<absent>'), new.get(key, '<absent>'),
                  f'{path}.{key}', out)
    elif (isinstance(old, (list, tuple)) and isinstance(new, (list, tuple))
          and len(old) == len(new)):
        for i, (a, b) in enumerate(zip(old, new)):
            _diff(a, b, f'{path}.{i}', out)
    elif old != new:
        out.append(f'{path}: {old!r} -> {new!r}')
