# Copyright (c) shike-mm contributors. All rights reserved.
import inspect
import os.path as osp

from mmengine.config import Config

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO_ROOT = osp.dirname(osp.dirname(PROJECT))
CONFIGS = osp.join(PROJECT, 'configs')


def head_takes_fusion() -> bool:
    """Whether the core multi-expert head takes a ``fusion`` rule."""
    from shike_mm.models.heads import MultiExpertFusionHead
    return 'fusion' in inspect.signature(
        MultiExpertFusionHead.__init__).parameters


def load_config(name: str) -> Config:
    """A config of the project by file name."""
    return Config.fromfile(osp.join(CONFIGS, name))


def build_model(model_cfg):
    """Build a model config (``fusion`` left out where the core head does
    not take it yet)."""
    import projects.sade.sade  # noqa: F401  registers the modules
    import shike_mm  # noqa: F401
    from mmpretrain.registry import MODELS
    cfg = Config(dict(model=model_cfg)).model
    if not head_takes_fusion():
        cfg.head.pop('fusion', None)
    return MODELS.build(cfg)
