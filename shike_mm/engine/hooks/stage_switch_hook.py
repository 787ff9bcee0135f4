# Copyright (c) shike-mm contributors. All rights reserved.
import copy
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmpretrain.registry import DATA_SAMPLERS, HOOKS
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...protocols import StagedHead
from ..stage_schedule import check_stage_schedule
from ..stages import (FIRST_HEAD_MODE, freeze_for_stage, parse_stages,
                      reinit_module, stage_at, stage_names)


@HOOKS.register_module()
class StageSwitchHook(Hook):
    """Train in declared stages (decoupled training, Kang et al. 2020;
    SHIKE Sec. 3.4; RIDE's router stage), in the manner of mmpretrain's
    ``SwitchRecipeHook``.

    ``stages`` lists the stages after the first, each from its ``begin``
    (0-based epoch) to the next one's or the end of training. Stage 0,
    ``'representation'``, is implicit: the model as built and a staged
    head (a :class:`~shike_mm.protocols.StagedHead`) in mode
    ``'experts'``. A declared stage says completely what it trains (fields of
    :data:`~shike_mm.engine.stages.STAGE_DEFAULTS`):

    - ``trainable``: name prefixes (``model.named_parameters()``) of the
      parameters trained; every other one is frozen (SHIKE:
      ``head.retrain_classifiers``; cRT: ``head``; RIDE: ``head.router``);
    - ``reinit``: modules (``model.named_modules()``) re-initialised when
      the stage begins (cRT trains a fresh classifier), never on resume
      after that;
    - ``head_mode``: passed to ``head.set_mode`` (``'retrain'``,
      ``'router'``); None leaves the head alone (any mmpretrain head);
    - ``sampler`` / ``batch_size``: the training dataloader is rebuilt
      around the same dataset with them (None: ``train_dataloader``'s own);
    - ``reset_optimizer_state``: clear the optimizer state (momentum) of
      the trainable parameters when the stage begins;
    - ``norm_eval``: freeze batch-norm running statistics in the stage
      (the SHIKE reference keeps updating them).

    When a stage begins, the loss scalars of the stage before are dropped
    from the message hub, so the log shows the new stage's losses only.

    **The stage follows the epoch.** :func:`~shike_mm.engine.stages.stage_at`
    decides the stage of an epoch; ``before_train`` puts the model in the
    stage of the starting epoch (a fresh run, ``--resume``, or ``load_from``
    weights of a finished run, whose head mode buffers are overridden) and
    ``before_train_epoch`` crosses into the next. A resumed run re-applies
    its stage without re-initialising or clearing anything; one resumed
    exactly at a stage's ``begin`` crosses the boundary as an uninterrupted
    run would. The head keeps its mode as a buffer, so testing a finished
    checkpoint uses the classifiers it was trained with.

    **The schedule is checked** before training
    (:func:`~shike_mm.engine.stage_schedule.check_stage_schedule`): every
    ``begin`` inside the run, no by-epoch LR scheduler running across it,
    one starting at it, and the LR there at least ``min_restart_ratio`` of
    the peak before it. Schedulers may refer to stages by name
    (:mod:`shike_mm.engine.stage_schedule`), so the boundary is written
    once, here; ``tools/train.py --epochs N`` rescales both.

    DDP: parameters unused in a stage get no gradient, so configs with
    this hook set ``find_unused_parameters=True``.

    Args:
        stages (Sequence[dict]): The declared stages, ``begin`` increasing,
            each with ``name`` and ``begin``.
        min_restart_ratio (float): See above; 0 disables the check.
            Defaults to 0.01.
    """

    priority = 'NORMAL'

    def __init__(self, stages: Sequence[dict],
                 min_restart_ratio: float = 0.01) -> None:
        self.stages = parse_stages(stages)
        self.names = stage_names(self.stages)
        self.min_restart_ratio = min_restart_ratio
        self.current: Optional[int] = None  # timeline index in force
        # (sampler, batch_size) of the training dataloader in force; None
        # for the train_dataloader's own
        self._loader = (None, None)

    def stage_at(self, epoch: int) -> int:
        """The timeline index of the stage in force at ``epoch``."""
        return stage_at(self.stages, epoch)

    def _stage(self, index: int) -> dict:
        return self.stages[index - 1] if index else {}

    def _error(self, index: int, msg: str) -> ValueError:
        return ValueError(f'StageSwitchHook stage {self.names[index]!r} '
                          f'(begin={self._stage(index)["begin"]}): {msg}')

    @staticmethod
    def _unwrap(model: nn.Module) -> nn.Module:
        return model.module if is_model_wrapper(model) else model

    def check_schedule(self, runner) -> None:
        """Stop before training when the stages and the LR schedule
        disagree (see the class doc).

        Raises:
            ValueError: Naming the stage and the offending value.
        """
        check_stage_schedule(self.stages,
                             runner.cfg.get('param_scheduler', None),
                             runner.max_epochs,
                             runner.cfg.get('optim_wrapper', None),
                             self.min_restart_ratio)

    def before_train(self, runner) -> None:
        """Check the schedule; put the model in the stage of the starting
        epoch (a boundary at that very epoch is crossed in
        ``before_train_epoch``)."""
        self.check_schedule(runner)
        index = self.stage_at(runner.epoch)
        if index and runner.epoch == self._stage(index)['begin']:
            # a checkpoint written just before a boundary: the crossing
            # happens in before_train_epoch, as in a run that never stopped
            self.current = index - 1
            if index == 1:
                self._enter_first(runner)
            return
        self._enter(runner, index, boundary=False)

    def before_train_epoch(self, runner) -> None:
        """Cross into the stage of this epoch when it changed."""
        index = self.stage_at(runner.epoch)
        if index != self.current:
            self._enter(
                runner, index,
                boundary=runner.epoch == self._stage(index).get('begin', 0))

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        """Keep BN statistics frozen in a stage with ``norm_eval``; the
        train loop calls ``model.train()`` after ``before_train_epoch``."""
        if self.current and self._stage(self.current)['norm_eval']:
            for module in self._unwrap(runner.model).modules():
                if isinstance(module, _BatchNorm) and module.training:
                    module.eval()

    def _enter_first(self, runner) -> None:
        """Stage 0: a staged head in its first mode, whatever the loaded
        weights said."""
        self.current = 0
        head = getattr(self._unwrap(runner.model), 'head', None)
        if not isinstance(head, StagedHead):
            return
        loaded = getattr(head, 'mode', None)
        head.set_mode(FIRST_HEAD_MODE)
        if loaded not in (None, FIRST_HEAD_MODE):
            runner.logger.warning(
                f'StageSwitchHook: training starts at epoch '
                f'{runner.epoch + 1}, in stage {self.names[0]!r}, but the '
                f'loaded weights left the head in mode {loaded!r}; it is set '
                f'to {FIRST_HEAD_MODE!r}: the stage follows the epoch, not '
                'the checkpoint.')

    def _switch_dataloader(self, runner, stage: dict) -> str:
        loop = runner.train_loop
        cfg = copy.deepcopy(runner.cfg.train_dataloader)
        dataset = loop.dataloader.dataset
        cfg['dataset'] = dataset
        randomness = runner.cfg.get('randomness', None) or {}
        diff_rank_seed = randomness.get('diff_rank_seed', False)
        if stage.get('sampler') is not None:
            # Built here from mmpretrain's registry (which reaches this
            # package's samplers and mmengine's) as mmengine would.
            cfg['sampler'] = DATA_SAMPLERS.build(
                copy.deepcopy(stage['sampler']),
                default_args=dict(
                    dataset=dataset,
                    seed=None if diff_rank_seed else runner.seed))
        if stage.get('batch_size') is not None:
            cfg['batch_size'] = stage['batch_size']
        loader = runner.build_dataloader(
            cfg, seed=runner.seed, diff_rank_seed=diff_rank_seed)
        if callable(getattr(loader.sampler, 'set_epoch', None)):
            loader.sampler.set_epoch(runner.epoch)
        loop.dataloader = loader
        loop._max_iters = loop._max_epochs * len(loader)
        return (f'sampler {type(loader.sampler).__name__}, batch '
                f'{loader.batch_size}')

    def _enter(self, runner, index: int, boundary: bool) -> None:
        """Put the model in timeline stage ``index``; ``boundary``: the
        stage begins now (re-initialise, clear optimizer state)."""
        self.current = index
        if index == 0:
            return self._enter_first(runner)
        stage = self._stage(index)
        model = self._unwrap(runner.model)
        reinit = []
        if boundary:
            modules = dict(model.named_modules())
            for name in stage['reinit']:
                if name not in modules:
                    raise self._error(
                        index, f'reinit names {name!r}, which is not a '
                        f'module of the model (e.g. {list(modules)[-3:]})')
                # Seeded by EpochSeedHook, so a rerun draws the same weights.
                reinit_module(modules[name])
                reinit.append(name)
        try:
            trainable = freeze_for_stage(model, stage['trainable'])
        except ValueError as e:
            raise self._error(index, str(e)) from None
        frozen = sum(1 for _ in model.parameters()) - len(trainable)

        head_mode = 'unchanged'
        if stage['head_mode'] is not None:
            head = getattr(model, 'head', None)
            if not isinstance(head, StagedHead):
                raise self._error(
                    index, f'head_mode={stage["head_mode"]!r} but the head '
                    f'({type(head).__name__}) is not a StagedHead; use '
                    'head_mode=None for heads without stages.')
            head.set_mode(stage['head_mode'])
            head_mode = f'mode {stage["head_mode"]!r}'

        loader = 'unchanged'
        wanted = (stage['sampler'], stage['batch_size'])
        if wanted != self._loader:
            loader = self._switch_dataloader(runner, stage)
            self._loader = wanted

        cleared = 0
        reset = boundary and stage['reset_optimizer_state']
        if reset:
            wrappers = (runner.optim_wrapper.values() if isinstance(
                runner.optim_wrapper, OptimWrapperDict) else
                        [runner.optim_wrapper])
            for wrapper in wrappers:
                for _, param in trainable:
                    if wrapper.optimizer.state.pop(param, None) is not None:
                        cleared += 1

        # The previous stage's loss terms stop being produced; drop their
        # histories so the log shows the new losses, not stale smoothed ones.
        scalars = runner.message_hub.log_scalars
        for key in [k for k in scalars if k.startswith('train/loss_')]:
            scalars.pop(key)

        num = sum(p.numel() for _, p in trainable)
        runner.logger.info(
            f'StageSwitchHook: {"entering" if boundary else "resumed in"} '
            f'stage {stage["name"]!r} at epoch {runner.epoch + 1} (begin '
            f'{stage["begin"]}): {len(trainable)} trainable tensors ({num} '
            f'parameters) under {list(stage["trainable"])}, {frozen} '
            f'frozen; re-initialised {reinit or "nothing"}; head '
            f'{head_mode}; dataloader {loader}; BN statistics '
            f'{"frozen" if stage["norm_eval"] else "updating"}; optimizer '
            f'state {f"cleared for {cleared} tensors" if reset else "kept"}.')
