# Copyright (c) shike-mm contributors. All rights reserved.
import os.path as osp

from mmengine.config import Config

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO_ROOT = osp.dirname(osp.dirname(PROJECT))
CONFIGS = osp.join(PROJECT, 'configs')


def load_config(name: str) -> Config:
    """A config of the project by file name."""
    return Config.fromfile(osp.join(CONFIGS, name))


def build_model(model_cfg):
    """Build a model config with the project's modules registered."""
    import projects.sade.sade  # noqa: F401  registers the modules
    import shike_mm  # noqa: F401
    from mmpretrain.registry import MODELS
    cfg = Config(dict(model=model_cfg)).model
    return MODELS.build(cfg)
