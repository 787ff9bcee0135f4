# Copyright (c) shike-mm contributors. All rights reserved.
import copy
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmpretrain.registry import DATA_SAMPLERS, HOOKS
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..stages import (Stage, StageRecipe, check_recipe_fits_model,
                      check_stage_schedule, freeze_for_stage, reinit_module,
                      set_head_mode, staged_head)


@HOOKS.register_module()
class StageSwitchHook(Hook):
    """Train in declared stages (decoupled training, Kang et al. 2020;
    SHIKE Sec. 3.4; RIDE's router stage), in the manner of mmpretrain's
    ``SwitchRecipeHook``.

    ``stages`` lists the stages after the first, each from its ``begin``
    (0-based epoch) to the next one's or the end of training. Stage 0,
    ``'representation'``, is implicit: the model as built and a staged
    head (a :class:`~shike_mm.protocols.StagedHead`) in its first mode. A
    declared stage says completely what it trains (the fields of
    :class:`~shike_mm.engine.stages.Stage`):

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

    **One recipe.** The tools read the stage list once, when the config is
    loaded (:func:`~shike_mm.engine.stages.resolve_stage_schedule`), and
    hand the hook the resolved stages (``resolved=True``); a hook built by
    hand from a stage list reads it here.

    **The stage follows the epoch.** The stage of an epoch is
    :meth:`~shike_mm.engine.stages.StageRecipe.stage_at`; the head's mode
    and the trainable set are derived from it
    (:mod:`shike_mm.engine.stages.apply`). ``before_train`` puts the model
    in the stage of the starting epoch (a fresh run, ``--resume``, or
    ``load_from`` weights of a finished run) and ``before_train_epoch``
    crosses into the next. A resumed run re-applies its stage without
    re-initialising or clearing anything; one resumed exactly at a stage's
    ``begin`` crosses the boundary as an uninterrupted run would. A test
    or validation run without training puts the head in the mode of the
    stage that the loaded checkpoint's last epoch was trained in (its
    ``meta['epoch']`` and the stage timeline the hook records in
    ``meta['stage_timeline']``), so a finished run is evaluated with the
    classifiers it ended with.

    **Checks before the first step**
    (:func:`~shike_mm.engine.stages.check_stage_schedule`,
    :func:`~shike_mm.engine.stages.check_recipe_fits_model`): every
    ``begin`` inside the run, no by-epoch LR scheduler running across it,
    one starting at it, the LR there at least ``min_restart_ratio`` of the
    peak before it; every stage's ``trainable`` prefixes, ``reinit``
    modules and ``head_mode`` present in the model.

    DDP: parameters unused in a stage get no gradient, so configs with
    this hook set ``find_unused_parameters=True``.

    Args:
        stages (Sequence[dict]): The declared stages, ``begin`` increasing,
            each with ``name`` and ``begin``.
        min_restart_ratio (float): See above; 0 disables the check.
            Defaults to 0.01.
        resolved (bool): ``stages`` were written by
            :func:`~shike_mm.engine.stages.resolve_stage_schedule` (every
            field given and checked); not for hand-written configs.
    """

    priority = 'NORMAL'

    def __init__(self,
                 stages: Sequence[dict],
                 min_restart_ratio: float = 0.01,
                 resolved: bool = False) -> None:
        self.recipe = (StageRecipe.from_resolved(stages)
                       if resolved else StageRecipe.parse(stages))
        self.min_restart_ratio = min_restart_ratio
        # The timeline index whose settings were last applied to the model.
        self.current: Optional[int] = None
        # (sampler, batch_size) of the training dataloader in force; None
        # for the train_dataloader's own
        self._loader = (None, None)
        # The stage of loaded weights, applied when testing without training
        self._loaded: Optional[tuple] = None

    @property
    def stages(self):
        """tuple[Stage]: The declared stages."""
        return self.recipe.stages

    @property
    def names(self):
        """list[str]: The timeline's stage names."""
        return self.recipe.names

    def stage_at(self, epoch: int) -> int:
        """The timeline index of the stage in force at ``epoch``."""
        return self.recipe.stage_at(epoch)

    def _error(self, index: int, msg: str) -> ValueError:
        return ValueError(
            f'StageSwitchHook stage {self.names[index]!r} '
            f'(begin={self.recipe.stage(index).begin}): {msg}')

    @staticmethod
    def _unwrap(model: nn.Module) -> nn.Module:
        return model.module if is_model_wrapper(model) else model

    def check_schedule(self, runner) -> None:
        """Stop before training when the stages and the LR schedule
        disagree (see the class doc).

        Raises:
            ValueError: Naming the stage and the offending value.
        """
        check_stage_schedule(self.recipe,
                             runner.cfg.get('param_scheduler', None),
                             runner.max_epochs,
                             runner.cfg.get('optim_wrapper', None),
                             self.min_restart_ratio)

    def before_train(self, runner) -> None:
        """Check the schedule and every stage against the model; put the
        model in the stage of the starting epoch (a boundary at that very
        epoch is crossed in ``before_train_epoch``)."""
        self._loaded = None  # training: the stage follows the epoch
        self.check_schedule(runner)
        check_recipe_fits_model(self.recipe, self._unwrap(runner.model))
        index = self.stage_at(runner.epoch)
        if index and runner.epoch == self.recipe.stage(index).begin:
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
            stage = self.recipe.stage(index)
            self._enter(
                runner, index,
                boundary=runner.epoch == (stage.begin if stage else 0))

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        """Keep BN statistics frozen in a stage with ``norm_eval``; the
        train loop calls ``model.train()`` after ``before_train_epoch``."""
        if self.current and self.recipe.stage(self.current).norm_eval:
            for module in self._unwrap(runner.model).modules():
                if isinstance(module, _BatchNorm) and module.training:
                    module.eval()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Record the stage timeline (names, begins, head modes) in
        ``meta['stage_timeline']``, read-only, so that the checkpoint is
        tested in its last stage's mode whatever config tests it."""
        checkpoint.setdefault('meta', {})['stage_timeline'] = [
            dict(name=s.name, begin=s.begin, head_mode=s.head_mode)
            for s in self.recipe.stages
        ]

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Derive the stage of the loaded weights from the checkpoint's
        epoch and stage timeline (the config's when it has none); it is
        applied in ``before_val`` / ``before_test`` unless training
        starts."""
        meta = checkpoint.get('meta', None) or {}
        epoch = meta.get('epoch', None)
        if isinstance(epoch, bool) or not isinstance(epoch, int):
            self._loaded = None
            return
        timeline = meta.get('stage_timeline', None)
        recipe = (StageRecipe.from_resolved(timeline)
                  if timeline else self.recipe)
        index = recipe.trained_stage(epoch)
        self._loaded = (epoch, recipe.names[index], recipe.stage(index))

    def before_val(self, runner) -> None:
        self._apply_loaded(runner)

    def before_test(self, runner) -> None:
        self._apply_loaded(runner)

    def _apply_loaded(self, runner) -> None:
        if self._loaded is None:
            return
        epoch, name, stage = self._loaded
        self._loaded = None
        mode = set_head_mode(self._unwrap(runner.model), stage)
        runner.logger.info(
            f'StageSwitchHook: the checkpoint (epoch {epoch}) was trained '
            f'in stage {name!r}: head '
            f'{"unchanged" if mode is None else f"mode {mode!r}"}.')

    def _enter_first(self, runner) -> None:
        """Stage 0: a staged head in its first mode, whatever the loaded
        weights said."""
        self.current = 0
        head = staged_head(self._unwrap(runner.model))
        if head is None:
            return
        loaded = head.mode
        first = set_head_mode(self._unwrap(runner.model), None)
        if loaded != first:
            runner.logger.warning(
                f'StageSwitchHook: training starts at epoch '
                f'{runner.epoch + 1}, in stage {self.names[0]!r}, but the '
                f'loaded weights left the head in mode {loaded!r}; it is set '
                f'to {first!r}: the stage follows the epoch, not the '
                'checkpoint.')

    def _switch_dataloader(self, runner, stage: Stage) -> str:
        loop = runner.train_loop
        cfg = copy.deepcopy(runner.cfg.train_dataloader)
        dataset = loop.dataloader.dataset
        cfg['dataset'] = dataset
        randomness = runner.cfg.get('randomness', None) or {}
        diff_rank_seed = randomness.get('diff_rank_seed', False)
        if stage.sampler is not None:
            # Built here from mmpretrain's registry (which reaches this
            # package's samplers and mmengine's) as mmengine would.
            cfg['sampler'] = DATA_SAMPLERS.build(
                copy.deepcopy(stage.sampler),
                default_args=dict(
                    dataset=dataset,
                    seed=None if diff_rank_seed else runner.seed))
        if stage.batch_size is not None:
            cfg['batch_size'] = stage.batch_size
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
        stage = self.recipe.stage(index)
        model = self._unwrap(runner.model)
        reinit = []
        if boundary:
            modules = dict(model.named_modules())
            for name in stage.reinit:
                if name not in modules:
                    raise self._error(
                        index, f'reinit names {name!r}, which is not a '
                        f'module of the model (e.g. {list(modules)[-3:]})')
                # Seeded by EpochSeedHook, so a rerun draws the same weights.
                reinit_module(modules[name])
                reinit.append(name)
        try:
            trainable = freeze_for_stage(model, stage)
            mode = set_head_mode(model, stage)
        except ValueError as e:
            raise self._error(index, str(e)) from None
        frozen = sum(1 for _ in model.parameters()) - len(trainable)
        head_mode = 'unchanged' if mode is None else f'mode {mode!r}'

        loader = 'unchanged'
        wanted = (stage.sampler, stage.batch_size)
        if wanted != self._loader:
            loader = self._switch_dataloader(runner, stage)
            self._loader = wanted

        cleared = 0
        reset = boundary and stage.reset_optimizer_state
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
            f'stage {stage.name!r} at epoch {runner.epoch + 1} (begin '
            f'{stage.begin}): {len(trainable)} trainable tensors ({num} '
            f'parameters) under {list(stage.trainable)}, {frozen} '
            f'frozen; re-initialised {reinit or "nothing"}; head '
            f'{head_mode}; dataloader {loader}; BN statistics '
            f'{"frozen" if stage.norm_eval else "updating"}; optimizer '
            f'state {f"cleared for {cleared} tensors" if reset else "kept"}.')
