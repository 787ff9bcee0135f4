# Copyright (c) shike-mm contributors. All rights reserved.
from typing import List, Sequence, Tuple, Union

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmpretrain.registry import HOOKS
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


@HOOKS.register_module()
class DecoupledRetrainHook(Hook):
    """Switch from representation learning to classifier retraining at the
    stage boundary (decoupled training, Kang et al. 2020; SHIKE Sec. 3.4).

    From epoch ``cornerstone`` (0-based; 180 of 200 in SHIKE) on:

    - every parameter is frozen (``requires_grad=False``) except those whose
      names start with one of ``trainable`` (SHIKE: the head's second set of
      classifiers, ``head.retrain_classifiers``);
    - the head is put in retraining mode with ``head.set_retraining(True)``
      when it has that method (``MultiExpertFusionHead``: balanced-softmax
      loss on the retrain classifiers, no distillation, predictions from the
      retrain classifiers);
    - the optimizer state (momentum) of the parameters that start training
      is cleared, so they start afresh whatever a checkpoint carried;
    - the stage-1 loss terms are dropped from the message hub, so the log
      shows the stage-2 loss only;
    - batch-norm layers keep updating their running statistics (the
      reference keeps the model in train mode) unless ``norm_eval=True``.

    The learning rate is not touched: the config's ``param_scheduler`` list
    expresses the whole schedule (see ``RestartLinearLR``).

    Resume: in ``before_train`` the hook re-applies the stage that the
    resumed epoch belongs to, without clearing optimizer state (a checkpoint
    written after the boundary carries the retrain classifiers' momentum).
    The head's mode is also a buffer in the checkpoint, so evaluation of a
    stage-2 checkpoint uses the retrain classifiers.

    DDP: the retrain classifiers are unused in stage 1 and the frozen
    parameters in stage 2, so configs using this hook set
    ``find_unused_parameters=True``.

    Args:
        cornerstone (int): First epoch (0-based) of classifier retraining.
        trainable (Sequence[str]): Name prefixes (as in
            ``model.named_parameters()``) of the parameters trained in stage
            2. Defaults to ``('head.retrain_classifiers', )``.
        norm_eval (bool): Freeze batch-norm running statistics in stage 2.
            Defaults to False (the reference keeps updating them).
        reset_optimizer_state (bool): Clear the optimizer state of the
            parameters that start training at the boundary. Defaults to True.
    """

    priority = 'NORMAL'

    def __init__(self,
                 cornerstone: int,
                 trainable: Union[str, Sequence[str]] = (
                     'head.retrain_classifiers', ),
                 norm_eval: bool = False,
                 reset_optimizer_state: bool = True) -> None:
        if not isinstance(cornerstone, int) or cornerstone < 0:
            raise ValueError(
                f'DecoupledRetrainHook: cornerstone must be an epoch index '
                f'>= 0, got {cornerstone!r}')
        if isinstance(trainable, str):
            trainable = (trainable, )
        if not trainable:
            raise ValueError('DecoupledRetrainHook: `trainable` is empty; '
                             'name the parameters trained in stage 2')
        self.cornerstone = cornerstone
        self.trainable = tuple(trainable)
        self.norm_eval = norm_eval
        self.reset_optimizer_state = reset_optimizer_state
        self.retraining = False

    @staticmethod
    def _unwrap(model: nn.Module) -> nn.Module:
        return model.module if is_model_wrapper(model) else model

    def _is_trainable(self, name: str) -> bool:
        return any(
            name == prefix or name.startswith(prefix + '.')
            for prefix in self.trainable)

    def before_train(self, runner) -> None:
        """Re-apply stage 2 when resuming at or after the boundary."""
        if runner.epoch >= self.cornerstone:
            self._switch(runner, reset_state=False, resumed=True)

    def before_train_epoch(self, runner) -> None:
        """Switch at the boundary epoch."""
        if runner.epoch >= self.cornerstone and not self.retraining:
            self._switch(
                runner,
                reset_state=self.reset_optimizer_state
                and runner.epoch == self.cornerstone,
                resumed=False)

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        """Keep BN statistics frozen in stage 2 when ``norm_eval``; the train
        loop calls ``model.train()`` after ``before_train_epoch``."""
        if self.retraining and self.norm_eval:
            for module in self._unwrap(runner.model).modules():
                if isinstance(module, _BatchNorm) and module.training:
                    module.eval()

    def _switch(self, runner, reset_state: bool, resumed: bool) -> None:
        model = self._unwrap(runner.model)
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
            raise ValueError(
                f'DecoupledRetrainHook: no parameter name starts with any of '
                f'{list(self.trainable)}; the model has e.g. '
                f'{[n for n, _ in model.named_parameters()][-3:]}')

        head = getattr(model, 'head', None)
        head_mode = 'unchanged (no set_retraining)'
        if callable(getattr(head, 'set_retraining', None)):
            head.set_retraining(True)
            head_mode = 'retraining mode'

        cleared = 0
        if reset_state:
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
            f'DecoupledRetrainHook: {"resumed in" if resumed else "entering"}'
            f' stage 2 (classifier retraining) at epoch {runner.epoch + 1} '
            f'(cornerstone {self.cornerstone}): {len(trainable)} trainable '
            f'tensors ({num} parameters) under {list(self.trainable)}, '
            f'{frozen} frozen; head {head_mode}; BN statistics '
            f'{"frozen" if self.norm_eval else "updating"}; optimizer state '
            f'{"cleared for " + str(cleared) + " tensors" if reset_state else "kept"}.')
