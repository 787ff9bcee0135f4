# Copyright (c) shike-mm contributors. All rights reserved.
"""The stage timeline of a multi-stage recipe, as pure functions.

A recipe declares its stages once, as the ``stages`` list of
:class:`~shike_mm.engine.hooks.StageSwitchHook`. Stage 0 is implicit: the
epochs before the first declared ``begin``, named :data:`FIRST_STAGE`, with
the model as built and a staged head in its first mode
(:data:`FIRST_HEAD_MODE`). Each declared stage lasts from its ``begin`` to
the next one's (or to the end of training) and says completely what is
trained in it; nothing carries over from the stage before.

The stage in force at an epoch is :func:`stage_at`; the hook, the scheduler
resolver (:mod:`shike_mm.engine.stage_schedule`) and the schedule checks
all read it from here.
"""
import copy
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.model import BaseModule
from torch import nn

#: The name of the implicit stage 0 (representation learning: every epoch
#: before the first declared stage).
FIRST_STAGE = 'representation'

#: The mode of a staged head in stage 0.
FIRST_HEAD_MODE = 'experts'

#: The fields of a declared stage and their defaults (SHIKE's classifier
#: retraining, Sec. 3.4); ``name`` and ``begin`` have none.
STAGE_DEFAULTS = dict(
    trainable=('head.retrain_classifiers', ),
    head_mode='retrain',
    reinit=(),
    sampler=None,
    batch_size=None,
    norm_eval=False,
    reset_optimizer_state=True)


def _as_tuple(value: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    return (value, ) if isinstance(value, str) else tuple(value)


def parse_stages(stages: Sequence[dict]) -> List[dict]:
    """Check a declared stage list and fill in the defaults.

    Args:
        stages (Sequence[dict]): One dict per stage after the first, each
            with ``name`` (str), ``begin`` (0-based first epoch) and any of
            :data:`STAGE_DEFAULTS`.

    Returns:
        list[dict]: Copies with every field of :data:`STAGE_DEFAULTS`,
        ``trainable`` and ``reinit`` as tuples.

    Raises:
        ValueError: Naming the stage, the field and its value: an unknown
            field, a missing or duplicate name, a ``begin`` that is not an
            epoch index or not after the previous stage's, an empty
            ``trainable``, a ``batch_size`` below 1.
    """
    if not stages:
        raise ValueError('StageSwitchHook: `stages` is empty; declare at '
                         'least one stage after the first')
    parsed, names, previous = [], {FIRST_STAGE}, None
    for i, stage in enumerate(stages):
        where = f'stages[{i}]'
        unknown = set(stage) - {'name', 'begin'} - set(STAGE_DEFAULTS)
        if unknown:
            raise ValueError(
                f'StageSwitchHook: {where} has unknown field(s) '
                f'{sorted(unknown)}; a stage takes name, begin and '
                f'{sorted(STAGE_DEFAULTS)}')
        name = stage.get('name')
        if not isinstance(name, str) or name in names:
            raise ValueError(
                f'StageSwitchHook: {where}.name={name!r} must be a string '
                f'other than {sorted(names)} (names already used)')
        names.add(name)
        begin = stage.get('begin')
        if (isinstance(begin, bool) or not isinstance(begin, int)
                or begin < 0):
            raise ValueError(
                f'StageSwitchHook: {where}.begin={begin!r} ({name!r}) must '
                'be an epoch index >= 0')
        if previous is not None and begin <= previous:
            raise ValueError(
                f'StageSwitchHook: {where}.begin={begin} ({name!r}) must be '
                f'after the previous stage\'s begin={previous}')
        previous = begin
        full = copy.deepcopy({**STAGE_DEFAULTS, **stage})
        full['trainable'] = _as_tuple(full['trainable'])
        full['reinit'] = _as_tuple(full['reinit'])
        if not full['trainable']:
            raise ValueError(
                f'StageSwitchHook: {where}.trainable ({name!r}) is empty; '
                'name the parameters trained in this stage')
        if full['batch_size'] is not None and full['batch_size'] < 1:
            raise ValueError(
                f'StageSwitchHook: {where}.batch_size='
                f'{full["batch_size"]!r} ({name!r}) must be >= 1')
        parsed.append(full)
    return parsed


def stage_names(stages: Sequence[dict]) -> List[str]:
    """The names of the timeline: :data:`FIRST_STAGE`, then each stage's."""
    return [FIRST_STAGE] + [s['name'] for s in stages]


def stage_at(stages: Sequence[dict], epoch: int) -> int:
    """The index in the timeline of the stage in force at ``epoch``.

    Args:
        stages (Sequence[dict]): The declared stages (``begin`` increasing).
        epoch (int): A 0-based epoch.

    Returns:
        int: 0 for the implicit first stage, ``i + 1`` for ``stages[i]``.
    """
    index = 0
    for i, stage in enumerate(stages):
        if epoch >= stage['begin']:
            index = i + 1
    return index


def stage_span(stages: Sequence[dict], index: int,
               max_epochs: int) -> Tuple[int, int]:
    """``(first epoch, end epoch)`` of timeline stage ``index``: from its
    ``begin`` (0 for stage 0) to the next stage's, or ``max_epochs``."""
    begin = 0 if index == 0 else stages[index - 1]['begin']
    end = stages[index]['begin'] if index < len(stages) else max_epochs
    return begin, end


def is_trainable(name: str, prefixes: Sequence[str]) -> bool:
    """Whether parameter ``name`` is ``prefix`` or below it for one of
    ``prefixes`` (``head`` matches ``head.fc.weight``, not ``header``)."""
    return any(name == p or name.startswith(p + '.') for p in prefixes)


def freeze_for_stage(model: nn.Module, trainable: Union[str, Sequence[str]]
                     ) -> List[Tuple[str, nn.Parameter]]:
    """Freeze every parameter of ``model`` except those under ``trainable``.

    This is what :class:`~shike_mm.engine.hooks.StageSwitchHook` does when
    a stage starts; call it to put a model in a stage by hand (e.g. to time
    classifier retraining).

    Args:
        model (nn.Module): The model (unwrapped).
        trainable (str | Sequence[str]): Parameter name prefixes, as in
            ``model.named_parameters()``.

    Returns:
        list[tuple[str, nn.Parameter]]: The trainable parameters.

    Raises:
        ValueError: If no parameter is under ``trainable``, naming the
            prefixes and some parameter names.
    """
    prefixes = _as_tuple(trainable)
    kept = []
    for name, param in model.named_parameters():
        param.requires_grad_(is_trainable(name, prefixes))
        if param.requires_grad:
            kept.append((name, param))
    if not kept:
        names = [n for n, _ in model.named_parameters()]
        raise ValueError(
            f'no parameter name starts with any of {list(prefixes)}; the '
            f'model has e.g. {names[-3:]}')
    return kept


def reinit_module(module: nn.Module) -> None:
    """Re-initialise ``module``: its mmengine ``init_cfg`` when it has one,
    else ``reset_parameters`` of every submodule defining it."""
    if isinstance(module, BaseModule) and module.init_cfg:
        for m in module.modules():
            if isinstance(m, BaseModule):
                m.is_init = False
        module.init_weights()
        return
    for m in module.modules():
        if callable(getattr(m, 'reset_parameters', None)):
            m.reset_parameters()


def find_stage_hook_cfg(cfg) -> Optional[dict]:
    """The ``StageSwitchHook`` entry of ``cfg.custom_hooks``, or None.

    Raises:
        ValueError: If the config names the removed ``DecoupledRetrainHook``
            or has more than one ``StageSwitchHook``.
    """
    found = []
    for i, hook in enumerate(cfg.get('custom_hooks', None) or []):
        kind = hook.get('type')
        kind = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
        if kind == 'DecoupledRetrainHook':
            raise ValueError(
                f'custom_hooks[{i}]: DecoupledRetrainHook was replaced by '
                "StageSwitchHook(stages=[dict(name=..., begin=<cornerstone>, "
                '...)]): one hook declares every stage (docs/training.md)')
        if kind == 'StageSwitchHook':
            found.append(hook)
    if len(found) > 1:
        raise ValueError(
            f'custom_hooks holds {len(found)} StageSwitchHooks; declare all '
            'stages in the `stages` list of one')
    return found[0] if found else None
