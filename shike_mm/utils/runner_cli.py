# Copyright (c) shike-mm contributors. All rights reserved.
"""Command-line plumbing shared by ``tools/train.py`` and ``tools/test.py``."""
import os.path as osp
from copy import deepcopy
from typing import Optional

import torch
from mmengine.config import Config, ConfigDict

DEFAULT_RUNNER = 'DeviceAwareRunner'


def merge_common_args(cfg: Config, args) -> Config:
    """Apply the arguments both tools share, then ``--cfg-options``.

    - ``launcher``;
    - ``work_dir``: command line, else the config's, else
      ``./work_dirs/<config name>``;
    - dataloader defaults: ``pin_memory`` only when a GPU is present,
      ``persistent_workers`` only when ``num_workers > 0`` (torch refuses it
      otherwise), each switched off by ``--no-pin-memory`` /
      ``--no-persistent-workers``.

    Args:
        cfg (Config): The loaded config, modified in place.
        args (argparse.Namespace): The parsed command line.

    Returns:
        Config: ``cfg``.
    """
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.cfg_options is not None:
        check_top_level_keys(cfg, args.cfg_options)
        check_nested_keys(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    check_work_dir(cfg.work_dir)

    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(field, None)
        if loader is None:
            continue
        merged = ConfigDict(
            pin_memory=torch.cuda.is_available(),
            persistent_workers=loader.get('num_workers', 0) > 0,
            collate_fn=dict(type='default_collate'))
        merged.update(deepcopy(loader))
        if args.no_pin_memory:
            merged.pin_memory = False
        if args.no_persistent_workers or merged.get('num_workers', 0) == 0:
            merged.persistent_workers = False
        cfg[field] = merged
    return cfg


#: Top-level entries read by the runner or the tools although a config
#: need not set them.
EXTRA_TOP_LEVEL_KEYS = ('runner_type', 'resume_anyway', 'compile',
                        'find_unused_parameters', 'custom_imports',
                        'launcher', 'work_dir', 'experiment_name',
                        'allow_partial_load')


def check_top_level_keys(cfg: Config, options: dict) -> None:
    """Refuse ``--cfg-options`` whose top-level key is neither in the
    config nor read by the runner (``traincfg.max_epochs=2`` would be
    merged silently and ignored), suggesting the nearest known key.

    Args:
        cfg (Config): The loaded config.
        options (dict): The parsed ``--cfg-options``.

    Raises:
        ValueError: naming the option and the nearest known key.
    """
    import difflib
    import inspect

    from mmengine.runner import Runner
    known = set(cfg.keys()) | set(EXTRA_TOP_LEVEL_KEYS) | set(
        inspect.signature(Runner.__init__).parameters) - {'self'}
    for option in options:
        top = option.split('.')[0]
        if top in known:
            continue
        near = difflib.get_close_matches(top, sorted(known), n=1)
        hint = ''
        if near:
            fixed = near[0] + option[len(top):]
            hint = f"; did you mean '{near[0]}' ({fixed})?"
        raise ValueError(
            f'--cfg-options {option}: the config has no top-level entry '
            f"'{top}'{hint} (an unknown entry would be ignored)")


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1,
                                       prev + (ca != cb))
    return row[-1]


def _typo_of(key: str, known) -> Optional[str]:
    """The known key ``key`` is a typo of: at most two edits away (one for
    keys of up to five characters), the nearest first; None if none."""
    limit = 1 if len(key) <= 5 else 2
    scored = sorted((_edit_distance(key, str(k)), str(k)) for k in known)
    return scored[0][1] if scored and scored[0][0] <= limit else None


def check_nested_keys(cfg: Config, options: dict) -> None:
    """Refuse ``--cfg-options`` whose nested key is not in the config but
    is one or two edits from a key beside it (``train_cfg.max_epoch`` next
    to ``max_epochs``, ``model.backbone.deph`` next to ``depth``): merged,
    it would be an unknown argument found only when the component is
    built, or ignored. Other new keys are let through (a component's
    optional arguments).

    Args:
        cfg (Config): The loaded config.
        options (dict): The parsed ``--cfg-options``.

    Raises:
        ValueError: naming the option and the key it is close to.
    """
    for option in options:
        parts = option.split('.')
        if parts[0] not in cfg:
            continue  # check_top_level_keys
        node = cfg[parts[0]]
        for depth, key in enumerate(parts[1:], 1):
            if isinstance(node, (list, tuple)) and key.isdigit():
                index = int(key)
                if index >= len(node):
                    break
                node = node[index]
                continue
            if not isinstance(node, dict):
                break
            if key in node:
                node = node[key]
                continue
            near = _typo_of(key, node)
            if near:
                where = '.'.join(parts[:depth])
                fixed = '.'.join(parts[:depth] + [near] + parts[depth + 1:])
                raise ValueError(
                    f"--cfg-options {option}: '{where}' has no entry "
                    f"'{key}'; did you mean '{near}' ({fixed})? (a new "
                    'entry this close to an existing one is taken for a '
                    'typo)')
            break


def check_finite_settings(cfg: Config,
                          fields=('optim_wrapper', 'param_scheduler')
                          ) -> None:
    """Refuse non-finite numbers (``lr=nan``, ``momentum=inf``) in the
    optimizer and scheduler settings before the first step takes one.

    Args:
        cfg (Config): The merged config.
        fields (tuple[str]): Top-level entries to check.

    Raises:
        ValueError: naming the entry and its value.
    """
    import math
    stack = [(cfg.get(field, None), field) for field in fields]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            stack.extend((item, f'{where}.{key}')
                         for key, item in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((item, f'{where}.{i}')
                         for i, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValueError(
                f'{where} is {value}: optimizer and scheduler settings must '
                'be finite numbers; the first step would make every weight '
                f'{value}')


def check_work_dir(work_dir) -> None:
    """Refuse a work directory path that exists and is not a directory.

    Args:
        work_dir (str): ``cfg.work_dir``.

    Raises:
        NotADirectoryError: naming the path.
    """
    if work_dir and osp.exists(work_dir) and not osp.isdir(work_dir):
        raise NotADirectoryError(
            f'work_dir {work_dir} exists and is a file, not a directory; '
            'choose another --work-dir or move the file')


def build_runner(cfg: Config):
    """Build the runner named by ``cfg.runner_type``, by default
    :class:`shike_mm.engine.DeviceAwareRunner`.

    Args:
        cfg (Config): A complete config.
    """
    # Importing this module ran ``shike_mm/__init__.py``, which registers
    # every component and the checkpoint safe globals.
    from mmpretrain.registry import RUNNERS
    if 'runner_type' not in cfg:
        cfg.runner_type = DEFAULT_RUNNER
    return RUNNERS.build(cfg)
