# Copyright (c) shike-mm contributors. All rights reserved.
"""Command-line plumbing shared by ``tools/train.py`` and ``tools/test.py``."""
import os.path as osp
from copy import deepcopy

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
        cfg.merge_from_dict(args.cfg_options)

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
                        'launcher', 'work_dir', 'experiment_name')


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
