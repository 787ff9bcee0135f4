# Copyright (c) shike-mm contributors. All rights reserved.
"""Compare the config a resumed checkpoint was trained with to the current
one, so that a work directory holding another run is not resumed by
mistake."""
from typing import List

from mmengine.config import Config

from .check import CheckpointError, config_from_text

#: Config sections compared on resume (data, model, schedule), and the
#: loader settings within them that may change freely.
RESUME_COMPARED = ('model', 'train_dataloader', 'optim_wrapper',
                   'param_scheduler', 'train_cfg')
RESUME_IGNORED = ('num_workers', 'persistent_workers', 'pin_memory',
                  'prefetch_factor')


def config_diffs(old: dict, new: dict) -> List[str]:
    """``'path: old -> new'`` for each leaf of :data:`RESUME_COMPARED`
    that differs between two configs (:data:`RESUME_IGNORED` keys
    excepted).

    Args:
        old (dict): The checkpoint's config entries.
        new (dict): The current config's entries.

    Returns:
        list[str]: The differences, in config order.
    """
    diffs: List[str] = []
    for section in RESUME_COMPARED:
        _diff(old.get(section), new.get(section), section, diffs)
    return diffs


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


def check_resumed_config(checkpoint: dict, filename: str, cfg: Config,
                         logger) -> None:
    """Compare the config stored in a checkpoint with the current one.

    The sections of :data:`RESUME_COMPARED` are compared (loader settings
    such as ``num_workers`` excepted). A difference is an error unless the
    config sets ``resume_anyway=True`` (``tools/train.py
    --resume-anyway``), in which case it is a warning.

    Args:
        checkpoint (dict): The loaded checkpoint.
        filename (str): Named in the message.
        cfg (Config): The current config.
        logger (logging.Logger): Receives the warnings.

    Raises:
        CheckpointError: listing the differences.
    """
    meta = checkpoint.get('meta') or {}
    text = meta.get('cfg') if isinstance(meta, dict) else None
    if not isinstance(text, str):
        logger.warning(
            f'{filename} stores no config; cannot check that it comes '
            'from the same data, model and schedule as this run.')
        return
    diffs = config_diffs(config_from_text(text),
                         config_from_text(cfg.pretty_text))
    if not diffs:
        return
    shown = '\n  '.join(diffs[:15])
    more = f'\n  ... and {len(diffs) - 15} more' if len(diffs) > 15 else ''
    message = (f'the checkpoint being resumed ({filename}) was trained '
               f'with a different config:\n  {shown}{more}\n'
               '(checkpoint value -> current value)')
    if cfg.get('resume_anyway', False):
        logger.warning(message + '\nresume_anyway=True: going on.')
        return
    raise CheckpointError(
        message + '\nIs this work directory holding another run? Use '
        'another --work-dir, or pass --resume-anyway (resume_anyway='
        'True) to resume with the current config.')
