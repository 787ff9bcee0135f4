# Copyright (c) shike-mm contributors. All rights reserved.
"""The stage recipe: one immutable value, parsed once from a config.

A recipe declares its stages once, as the ``stages`` list of
:class:`~shike_mm.engine.hooks.StageSwitchHook`. Stage 0 is implicit: the
epochs before the first declared ``begin``, named :data:`FIRST_STAGE`,
with the model as built and a staged head in its first mode. Each declared
stage lasts from its ``begin`` to the next one's (or to the end of
training) and says completely what is trained in it; nothing carries over
from the stage before.

:meth:`StageRecipe.parse` is the one place a stage list is read (fields
checked, defaults filled in). Its result is written back into the config
in resolved form (:meth:`StageRecipe.to_cfg`, ``resolved=True``), which
:meth:`StageRecipe.from_resolved` turns into the value again without
reading it a second time. The stage in force at an epoch is
:func:`stage_at`.
"""
import copy
import dataclasses
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

#: The name of the implicit stage 0 (representation learning: every epoch
#: before the first declared stage).
FIRST_STAGE = 'representation'


def _as_tuple(value: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    return (value, ) if isinstance(value, str) else tuple(value)


def _plain(value):
    """``value`` with every mapping a ``dict`` and every list a tuple (so a
    stage holds no config object)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


@dataclass(frozen=True)
class Stage:
    """One declared stage: what is trained from ``begin`` on.

    Args:
        name (str): Unique in the recipe, not :data:`FIRST_STAGE`.
        begin (int): 0-based first epoch.
        trainable (tuple[str]): Parameter name prefixes
            (``model.named_parameters()``) trained; every other parameter
            is frozen. Defaults to SHIKE's retrained classifiers (Sec. 3.4).
        head_mode (str, optional): The mode of a staged head; None leaves
            the head alone.
        reinit (tuple[str]): Modules re-initialised when the stage begins.
        sampler (dict, optional): The training sampler config in the stage;
            None for the ``train_dataloader``'s own.
        batch_size (int, optional): The training batch size in the stage.
        norm_eval (bool): Freeze batch-norm running statistics.
        reset_optimizer_state (bool): Clear the optimizer state of the
            trainable parameters when the stage begins.
    """

    name: str
    begin: int
    trainable: Tuple[str, ...] = ('head.retrain_classifiers', )
    head_mode: Optional[str] = 'retrain'
    reinit: Tuple[str, ...] = ()
    sampler: Optional[dict] = None
    batch_size: Optional[int] = None
    norm_eval: bool = False
    reset_optimizer_state: bool = True

    def to_cfg(self) -> dict:
        """The stage as a plain config dict (every field)."""
        out = dataclasses.asdict(self)
        out['sampler'] = copy.deepcopy(self.sampler)
        return out


#: The fields of a declared stage and their defaults; ``name`` and
#: ``begin`` have none.
STAGE_DEFAULTS: Dict[str, object] = {
    f.name: f.default
    for f in dataclasses.fields(Stage) if f.name not in ('name', 'begin')
}


def _begin_error(where: Optional[str], i: int, name, begin) -> str:
    if where is None:
        return (f'StageSwitchHook: stages[{i}].begin={begin!r} ({name!r}) '
                'must be an epoch index >= 0')
    return (f'StageSwitchHook stage {name!r} begin={begin!r} '
            f'({where}.{i}.begin) is not valid: it must be a whole number '
            '>= 0 (a 0-based epoch index')


def _parse_stage(i: int, stage: dict, names: set, previous: Optional[int],
                 where: Optional[str], max_epochs: Optional[int]) -> Stage:
    label = f'stages[{i}]'
    unknown = set(stage) - {'name', 'begin'} - set(STAGE_DEFAULTS)
    if unknown:
        raise ValueError(
            f'StageSwitchHook: {label} has unknown field(s) '
            f'{sorted(unknown)}; a stage takes name, begin and '
            f'{sorted(STAGE_DEFAULTS)}')
    name = stage.get('name')
    if not isinstance(name, str) or name in names:
        raise ValueError(
            f'StageSwitchHook: {label}.name={name!r} must be a string '
            f'other than {sorted(names)} (names already used)')
    begin = stage.get('begin')
    if isinstance(begin, bool) or not isinstance(begin, int) or begin < 0:
        message = _begin_error(where, i, name, begin)
        if where is not None:
            bound = '' if max_epochs is None else (
                f', below train_cfg.max_epochs={max_epochs} to take effect')
            message += f'{bound}). Fix it in the config.'
        raise ValueError(message)
    if previous is not None and begin <= previous:
        raise ValueError(
            f'StageSwitchHook: {label}.begin={begin} ({name!r}) must be '
            f'after the previous stage\'s begin={previous}')
    fields = {**STAGE_DEFAULTS, **_plain(dict(stage))}
    fields['trainable'] = _as_tuple(fields['trainable'])
    fields['reinit'] = _as_tuple(fields['reinit'])
    if not fields['trainable']:
        raise ValueError(
            f'StageSwitchHook: {label}.trainable ({name!r}) is empty; '
            'name the parameters trained in this stage')
    if fields['batch_size'] is not None and fields['batch_size'] < 1:
        raise ValueError(
            f'StageSwitchHook: {label}.batch_size={fields["batch_size"]!r} '
            f'({name!r}) must be >= 1')
    return Stage(**fields)


@dataclass(frozen=True)
class StageRecipe:
    """The declared stages of a run, ``begin`` increasing.

    Build it with :meth:`parse` (a stage list as written) or
    :meth:`from_resolved` (the output of :meth:`to_cfg`).

    Args:
        stages (tuple[Stage]): The stages after the implicit first one.
    """

    stages: Tuple[Stage, ...]

    @classmethod
    def parse(cls,
              stages: Sequence[dict],
              where: Optional[str] = None,
              max_epochs: Optional[int] = None) -> 'StageRecipe':
        """Check a declared stage list and fill in the defaults.

        Args:
            stages (Sequence[dict]): One dict per stage after the first,
                each with ``name``, ``begin`` and any field of
                :data:`STAGE_DEFAULTS`.
            where (str, optional): The list's config path (e.g.
                ``custom_hooks.0.stages``), named in errors.
            max_epochs (int, optional): ``train_cfg.max_epochs``, named in
                errors.

        Raises:
            ValueError: Naming the stage, the field and its value: an
                unknown field, a missing or duplicate name, a ``begin``
                that is not an epoch index or not after the previous
                stage's, an empty ``trainable``, a ``batch_size`` below 1.
        """
        if not stages:
            raise ValueError('StageSwitchHook: `stages` is empty; declare '
                             'at least one stage after the first')
        parsed: List[Stage] = []
        names = {FIRST_STAGE}
        for i, stage in enumerate(stages):
            previous = parsed[-1].begin if parsed else None
            parsed.append(
                _parse_stage(i, stage, names, previous, where, max_epochs))
            names.add(parsed[-1].name)
        return cls(tuple(parsed))

    @classmethod
    def from_resolved(cls, stages: Sequence[dict]) -> 'StageRecipe':
        """The recipe from the stage dicts of :meth:`to_cfg` (every field
        given, already checked by :meth:`parse`)."""
        return cls(tuple(Stage(**_plain(dict(s))) for s in stages))

    def to_cfg(self) -> List[dict]:
        """The stages as plain config dicts, every field filled in."""
        return [stage.to_cfg() for stage in self.stages]

    @property
    def names(self) -> List[str]:
        """The timeline: :data:`FIRST_STAGE`, then each stage's name."""
        return [FIRST_STAGE] + [s.name for s in self.stages]

    def stage(self, index: int) -> Optional[Stage]:
        """Timeline stage ``index``; None for the implicit first one."""
        return self.stages[index - 1] if index else None

    def stage_at(self, epoch: int) -> int:
        """The timeline index of the stage in force at 0-based ``epoch``:
        0 for the implicit first stage, ``i + 1`` for ``stages[i]``."""
        index = 0
        for i, stage in enumerate(self.stages):
            if epoch >= stage.begin:
                index = i + 1
        return index

    def trained_stage(self, finished_epochs: int) -> int:
        """The timeline index of the stage the weights were trained in
        after ``finished_epochs`` epochs (a checkpoint's ``meta['epoch']``):
        the stage of the last finished epoch, 0 before any."""
        return self.stage_at(finished_epochs - 1) if finished_epochs else 0

    def span(self, index: int, max_epochs: int) -> Tuple[int, int]:
        """``(first epoch, end epoch)`` of timeline stage ``index``: from
        its ``begin`` (0 for stage 0) to the next stage's, or
        ``max_epochs``."""
        begin = 0 if index == 0 else self.stages[index - 1].begin
        end = (self.stages[index].begin
               if index < len(self.stages) else max_epochs)
        return begin, end

    def with_begins(self, mapping: Dict[int, int]) -> 'StageRecipe':
        """The same stages with each ``begin`` moved by ``mapping`` (old
        epoch to new; see :mod:`.rescale`)."""
        return StageRecipe(tuple(
            dataclasses.replace(s, begin=mapping[s.begin])
            for s in self.stages))


def stage_at(recipe: StageRecipe, epoch: int) -> int:
    """The timeline index of the stage in force at ``epoch`` (see
    :meth:`StageRecipe.stage_at`)."""
    return recipe.stage_at(epoch)


def find_stage_hook_cfg(cfg) -> Optional[Tuple[int, dict]]:
    """``(index, entry)`` of the ``StageSwitchHook`` in
    ``cfg.custom_hooks``, or None.

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
            found.append((i, hook))
    if len(found) > 1:
        raise ValueError(
            f'custom_hooks holds {len(found)} StageSwitchHooks; declare all '
            'stages in the `stages` list of one')
    return found[0] if found else None
