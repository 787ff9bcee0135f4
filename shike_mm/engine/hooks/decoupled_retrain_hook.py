# Copyright (c) shike-mm contributors. All rights reserved.
import copy
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.hooks import Hook
from mmengine.model import BaseModule, is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmpretrain.registry import DATA_SAMPLERS, HOOKS
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


#: The mode of a staged head before the first stage boundary.
FIRST_HEAD_MODE = 'experts'


def first_stage_hook(runner) -> Optional['DecoupledRetrainHook']:
    """The run's stage hook with the earliest boundary (the first in hook
    order among equal ones), or None when the runner has none registered
    (a hook driven by hand)."""
    stage_hooks = [h for h in getattr(runner, 'hooks', ())
                   if isinstance(h, DecoupledRetrainHook)]
    return min(stage_hooks, key=lambda h: h.cornerstone, default=None)


@HOOKS.register_module()
class DecoupledRetrainHook(Hook):
    """Switch the training recipe at a stage boundary (decoupled training,
    Kang et al. 2020; SHIKE Sec. 3.4; RIDE's router stage).

    From epoch ``cornerstone`` (0-based; 180 of 200 in SHIKE) on:

    - every parameter is frozen (``requires_grad=False``) except those whose
      names start with one of ``trainable`` (SHIKE: the head's second set of
      classifiers, ``head.retrain_classifiers``; cRT: ``head``);
    - the modules named in ``reinit`` are re-initialised (cRT trains a fresh
      classifier); only when the boundary is crossed, never on resume;
    - the head is switched with ``head.set_mode(head_mode)`` (SHIKE:
      ``'retrain'``: balanced-softmax loss on the retrain classifiers, no
      distillation, predictions from the retrain classifiers); ``None``
      leaves the head alone (any mmpretrain head);
    - with ``sampler`` and / or ``batch_size`` the training dataloader is
      rebuilt around the same dataset with that sampler and batch size
      (cRT and RIDE's router: ``dict(type='ClassAwareSampler')``);
    - the optimizer state (momentum) of the parameters that start training
      is cleared, so they start afresh whatever a checkpoint carried;
    - the stage-1 loss terms are dropped from the message hub, so the log
      shows the stage-2 loss only;
    - batch-norm layers keep updating their running statistics (the SHIKE
      reference keeps the model in train mode) unless ``norm_eval=True``.

    **One boundary, checked.** The learning rate is the config's
    ``param_scheduler`` list (see ``RestartLinearLR``), which must agree with
    ``cornerstone``. ``before_train`` stops with an error naming both values
    when they do not: a cornerstone at or past ``max_epochs``; a by-epoch
    scheduler running across the boundary (``begin < cornerstone < end``);
    no scheduler starting at the boundary, or a learning rate there below
    ``min_restart_ratio`` of the stage's peak (the schedule does not
    restart, e.g. a cosine that decayed to ~0); a top-level ``cornerstone``
    variable in the config (``--cfg-options cornerstone=N``) that differs
    from the hook's, since such a variable is only read while the config
    file is parsed. ``tools/train.py --epochs N`` rescales hook and
    schedulers together.

Resume: in ``before_train`` the hook re-applies the stage that the
    resumed epoch belongs to (freezing, head mode, sampler), without
    re-initialising modules or clearing optimizer state (a checkpoint
    written after the boundary carries both). The head's mode is also a
    buffer in the checkpoint, so evaluating a stage-2 checkpoint uses the
    stage-2 classifiers; training never takes the stage from it: a run
    that starts before the first boundary (fresh, resumed, or from
    ``load_from`` weights of a finished run) trains with the head in its
    first mode, ``'experts'``.

    DDP: the stage-2 classifiers are unused in stage 1 and the frozen
    parameters in stage 2, so the schedule bases that hold this hook set
    ``find_unused_parameters=True``.

    Args:
        cornerstone (int): First epoch (0-based) of the second stage.
        trainable (str | Sequence[str]): Name prefixes (as in
            ``model.named_parameters()``) of the parameters trained from the
            boundary on. Defaults to ``('head.retrain_classifiers', )``.
        head_mode (str, optional): Passed to ``head.set_mode``. Defaults to
            ``'retrain'``.
        reinit (str | Sequence[str]): Names of modules (as in
            ``model.named_modules()``) re-initialised at the boundary.
            Defaults to ().
        sampler (dict, optional): Training sampler config from the boundary
            on. Defaults to None (keep the current one).
        batch_size (int, optional): Training batch size (per GPU) from the
            boundary on. Defaults to None (keep).
        norm_eval (bool): Freeze batch-norm running statistics in stage 2.
            Defaults to False.
        reset_optimizer_state (bool): Clear the optimizer state of the
            parameters that start training at the boundary. Defaults to True.
        min_restart_ratio (float): Smallest accepted ratio of the learning
            rate at the boundary to the peak learning rate before it; 0
            disables the check. Defaults to 0.01.
    """

    priority = 'NORMAL'

    def __init__(self,
                 cornerstone: int,
                 trainable: Union[str, Sequence[str]] = (
                     'head.retrain_classifiers', ),
                 head_mode: Optional[str] = 'retrain',
                 reinit: Union[str, Sequence[str]] = (),
                 sampler: Optional[dict] = None,
                 batch_size: Optional[int] = None,
                 norm_eval: bool = False,
                 reset_optimizer_state: bool = True,
                 min_restart_ratio: float = 0.01) -> None:
        if (isinstance(cornerstone, bool) or not isinstance(cornerstone, int)
                or cornerstone < 0):
            raise ValueError(
                f'DecoupledRetrainHook: cornerstone must be an epoch index '
                f'>= 0, got {cornerstone!r}')
        trainable = (trainable, ) if isinstance(trainable, str) else trainable
        if not trainable:
            raise ValueError('DecoupledRetrainHook: `trainable` is empty; '
                             'name the parameters trained in stage 2')
        if batch_size is not None and batch_size < 1:
            raise ValueError(f'DecoupledRetrainHook: batch_size must be >= 1,'
                             f' got {batch_size!r}')
        self.cornerstone = cornerstone
        self.trainable = tuple(trainable)
        self.head_mode = head_mode
        self.reinit = (reinit, ) if isinstance(reinit, str) else tuple(reinit)
        self.sampler = copy.deepcopy(sampler)
        self.batch_size = batch_size
        self.norm_eval = norm_eval
        self.reset_optimizer_state = reset_optimizer_state
        self.min_restart_ratio = min_restart_ratio
        self.retraining = False

    @staticmethod
    def _unwrap(model: nn.Module) -> nn.Module:
        return model.module if is_model_wrapper(model) else model

    def _is_trainable(self, name: str) -> bool:
        return any(
            name == prefix or name.startswith(prefix + '.')
            for prefix in self.trainable)

    # ------------------------------------------------------------------
    # the boundary, checked once before training
    # ------------------------------------------------------------------
    def _error(self, msg: str) -> ValueError:
        return ValueError(
            f'DecoupledRetrainHook(cornerstone={self.cornerstone}): {msg}')

    def check_schedule(self, runner) -> None:
        """Stop before training when the boundary and the schedule disagree.

        Raises:
            ValueError: naming the offending value (see the class doc).
        """
        max_epochs = runner.max_epochs
        if self.cornerstone >= max_epochs:
            raise self._error(
                f'the boundary is at or past the end of training '
                f'(train_cfg.max_epochs={max_epochs}), so stage 2 would never '
                'run. Use a cornerstone < max_epochs (tools/train.py --epochs '
                'N rescales the whole schedule).')
        top = runner.cfg.get('cornerstone', None)
        boundaries = {
            h.get('cornerstone')
            for h in runner.cfg.get('custom_hooks', None) or []
            if h.get('type') in ('DecoupledRetrainHook', type(self))
        } or {self.cornerstone}
        # With several stage hooks (retraining, then a router stage) the
        # config variable names one of them.
        if top is not None and top not in boundaries:
            raise self._error(
                f'the config variable cornerstone={top} differs from the '
                f"stage hooks' {sorted(boundaries)}. Config variables are read only while the config "
                'file is parsed, so changing one with --cfg-options moves '
                'neither the hook nor the schedulers; change the config file, '
                'or use tools/train.py --epochs N to rescale the schedule.')
        scheds = runner.cfg.get('param_scheduler', None) or []
        if isinstance(scheds, dict):
            scheds = [scheds]
        starts = []
        for i, s in enumerate(scheds):
            if not s.get('by_epoch', True):
                continue
            begin = s.get('begin', 0)
            end = s.get('end', max_epochs)
            if begin < self.cornerstone < end:
                raise self._error(
                    f'param_scheduler[{i}] ({s.get("type")}, begin={begin}, '
                    f'end={end}) runs across the stage boundary; the '
                    'schedule must change exactly at the cornerstone.')
            if begin == self.cornerstone:
                starts.append(i)
        if not starts:
            raise self._error(
                'no by-epoch param_scheduler begins at the cornerstone, so the '
                'learning rate does not restart for stage 2. Begin the '
                'stage-2 schedulers at the cornerstone (e.g. RestartLinearLR).')
        if self.min_restart_ratio > 0:
            self._check_restart(runner, scheds)

    def _check_restart(self, runner, scheds) -> None:
        """Simulate the learning rate on a dummy parameter and check that it
        restarts at the boundary."""
        from mmengine.optim import build_optim_wrapper
        from mmpretrain.registry import PARAM_SCHEDULERS
        optim_cfg = copy.deepcopy(runner.cfg.get('optim_wrapper', None))
        if not optim_cfg or 'optimizer' not in optim_cfg:
            return
        optim_cfg = dict(
            type='OptimWrapper', optimizer=dict(optim_cfg['optimizer']))
        wrapper = build_optim_wrapper(nn.Linear(1, 1), optim_cfg)
        built = [
            PARAM_SCHEDULERS.build(dict(copy.deepcopy(s), optimizer=wrapper))
            for s in scheds if s.get('by_epoch', True)
        ]
        lrs = []
        for _ in range(self.cornerstone + 1):
            lrs.append(wrapper.param_groups[0]['lr'])
            for scheduler in built:
                scheduler.step()
        peak = max(lrs[:-1], default=lrs[-1])
        if peak > 0 and lrs[-1] < self.min_restart_ratio * peak:
            raise self._error(
                f'the learning rate at the boundary is {lrs[-1]:.3g}, below '
                f'{self.min_restart_ratio:g} x the peak {peak:.3g} before it: '
                'stage 2 would barely train. Restart the schedule at the '
                'cornerstone (e.g. RestartLinearLR, which is computed from '
                'the base learning rate) or set min_restart_ratio=0.')

    # ------------------------------------------------------------------
    # hook points
    # ------------------------------------------------------------------
    def before_train(self, runner) -> None:
        """Check the schedule; put the model in the stage of the starting
        epoch.

        The stage is decided by the epoch and the stage hooks of the run,
        never by the weights: a run resumed in stage 2 re-applies it, and a
        run that starts before the first boundary puts a staged head in its
        first mode (``'experts'``) even when ``load_from`` restored the
        mode buffers of a finished run (fine-tuning from a stage-2 or
        router checkpoint).
        """
        self.check_schedule(runner)
        # A fresh run has epoch 0 here and switches in before_train_epoch,
        # even with cornerstone 0; only a resumed run starts past epoch 0.
        if 0 < runner.epoch and runner.epoch >= self.cornerstone:
            self._switch(runner, boundary=False)
        elif runner.epoch < self.cornerstone and \
                first_stage_hook(runner) in (None, self):
            self._enter_first_stage(runner)

    def _enter_first_stage(self, runner) -> None:
        """Put a staged head (one with ``set_mode``) in its first mode."""
        head = getattr(self._unwrap(runner.model), 'head', None)
        if not callable(getattr(head, 'set_mode', None)):
            return
        loaded = getattr(head, 'mode', None)
        head.set_mode(FIRST_HEAD_MODE)
        if loaded not in (None, FIRST_HEAD_MODE):
            runner.logger.warning(
                f'DecoupledRetrainHook: training starts at epoch '
                f'{runner.epoch + 1}, before the first stage boundary '
                f'(cornerstone {self.cornerstone}), but the loaded weights '
                f'left the head in mode {loaded!r}; it is set to '
                f'{FIRST_HEAD_MODE!r}: the stage follows the epoch, not the '
                'checkpoint.')

    def before_train_epoch(self, runner) -> None:
        """Switch at the boundary epoch."""
        if runner.epoch >= self.cornerstone and not self.retraining:
            self._switch(runner, boundary=runner.epoch == self.cornerstone)

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        """Keep BN statistics frozen in stage 2 when ``norm_eval``; the train
        loop calls ``model.train()`` after ``before_train_epoch``."""
        if self.retraining and self.norm_eval:
            for module in self._unwrap(runner.model).modules():
                if isinstance(module, _BatchNorm) and module.training:
                    module.eval()

    # ------------------------------------------------------------------
    # the switch
    # ------------------------------------------------------------------
    @staticmethod
    def reinit_module(module: nn.Module) -> None:
        """Re-initialise ``module``: its mmengine ``init_cfg`` when it has
        one, else ``reset_parameters`` of every submodule defining it."""
        if isinstance(module, BaseModule) and module.init_cfg:
            for m in module.modules():
                if isinstance(m, BaseModule):
                    m.is_init = False
            module.init_weights()
            return
        for m in module.modules():
            if callable(getattr(m, 'reset_parameters', None)):
                m.reset_parameters()

    def _switch_dataloader(self, runner) -> str:
        loop = runner.train_loop
        cfg = copy.deepcopy(runner.cfg.train_dataloader)
        dataset = loop.dataloader.dataset
        cfg['dataset'] = dataset
        randomness = runner.cfg.get('randomness', None) or {}
        diff_rank_seed = randomness.get('diff_rank_seed', False)
        if self.sampler is not None:
            # Built here from mmpretrain's registry (which reaches this
            # package's samplers and mmengine's) as mmengine would.
            cfg['sampler'] = DATA_SAMPLERS.build(
                copy.deepcopy(self.sampler),
                default_args=dict(
                    dataset=dataset,
                    seed=None if diff_rank_seed else runner.seed))
        if self.batch_size is not None:
            cfg['batch_size'] = self.batch_size
        loader = runner.build_dataloader(
            cfg, seed=runner.seed, diff_rank_seed=diff_rank_seed)
        if callable(getattr(loader.sampler, 'set_epoch', None)):
            loader.sampler.set_epoch(runner.epoch)
        loop.dataloader = loader
        loop._max_iters = loop._max_epochs * len(loader)
        return (f'sampler {type(loader.sampler).__name__}, batch '
                f'{loader.batch_size}')

    def _switch(self, runner, boundary: bool) -> None:
        model = self._unwrap(runner.model)
        reinit = []
        if boundary:
            modules = dict(model.named_modules())
            for name in self.reinit:
                if name not in modules:
                    raise self._error(
                        f'reinit names {name!r}, which is not a module of '
                        f'the model (e.g. {list(modules)[-3:]})')
                # Seeded by EpochSeedHook, so a rerun draws the same weights.
                self.reinit_module(modules[name])
                reinit.append(name)

        trainable: List[Tuple[str, nn.Parameter]] = []
        frozen = 0
        for name, param in model.named_parameters():
            if self._is_trainable(name):
                param.requires_grad_(True)
                trainable.append((name, param))
            else:
                param.requires_grad_(False)
                frozen += 1
        if not trainable:
            raise self._error(
                f'no parameter name starts with any of '
                f'{list(self.trainable)}; the model has e.g. '
                f'{[n for n, _ in model.named_parameters()][-3:]}')

        head_mode = 'unchanged'
        if self.head_mode is not None:
            head = getattr(model, 'head', None)
            if not callable(getattr(head, 'set_mode', None)):
                raise self._error(
                    f'head_mode={self.head_mode!r} but the head '
                    f'({type(head).__name__}) has no set_mode(); use '
                    'head_mode=None for heads without stages.')
            head.set_mode(self.head_mode)
            head_mode = f'mode {self.head_mode!r}'

        loader = 'unchanged'
        if self.sampler is not None or self.batch_size is not None:
            loader = self._switch_dataloader(runner)

        cleared = 0
        if boundary and self.reset_optimizer_state:
            wrappers = (runner.optim_wrapper.values() if isinstance(
                runner.optim_wrapper, OptimWrapperDict) else
                        [runner.optim_wrapper])
            for wrapper in wrappers:
                state = wrapper.optimizer.state
                for _, param in trainable:
                    if state.pop(param, None) is not None:
                        cleared += 1

        # Stage-1 loss terms stop being produced; drop their histories so the
        # log shows only the stage-2 loss instead of stale smoothed values.
        scalars = runner.message_hub.log_scalars
        for key in [k for k in scalars if k.startswith('train/loss_')]:
            scalars.pop(key)

        self.retraining = True
        num = sum(p.numel() for _, p in trainable)
        runner.logger.info(
            f'DecoupledRetrainHook: {"entering" if boundary else "resumed in"}'
            f' stage 2 at epoch {runner.epoch + 1} (cornerstone '
            f'{self.cornerstone}): {len(trainable)} trainable tensors ({num} '
            f'parameters) under {list(self.trainable)}, {frozen} frozen; '
            f're-initialised {reinit or "nothing"}; head {head_mode}; '
            f'dataloader {loader}; BN statistics '
            f'{"frozen" if self.norm_eval else "updating"}; optimizer state '
            f'{"cleared for " + str(cleared) + " tensors" if boundary and self.reset_optimizer_state else "kept"}.')  # noqa: E501
