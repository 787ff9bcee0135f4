# Copyright (c) shike-mm contributors. All rights reserved.
"""The training data and config of the measuring tools
(``tools/benchmark.py``, ``tools/check_numerics.py``): the config's own
training set, or random images through its pipeline when the files are
missing."""
import copy

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.runner import Runner
from mmpretrain.registry import DATASETS

from ..engine.stages import resolve_stage_schedule


class SyntheticDataset(torch.utils.data.Dataset):
    """Random uint8 images and labels through a training pipeline.

    Args:
        length (int): Number of samples.
        shape (tuple[int]): (H, W, C) of every raw image.
        num_classes (int): Labels are ``index % num_classes``.
        pipeline (list[dict]): Transforms (``LoadImage*`` entries are
            dropped: the image is already in memory).
    """

    def __init__(self, length, shape, num_classes, pipeline):
        self.length = length
        self.shape = tuple(shape)
        self.num_classes = num_classes
        self.pipeline = Compose([
            t for t in pipeline
            if not str(t.get('type', '')).startswith('LoadImage')
        ])

    def __len__(self):
        return self.length

    def __getitem__(self, idx):
        rng = np.random.default_rng(idx)
        img = rng.integers(0, 256, self.shape, dtype=np.uint8)
        results = dict(
            img=img,
            gt_label=idx % self.num_classes,
            img_shape=img.shape[:2],
            ori_shape=img.shape[:2],
            sample_idx=idx)
        return self.pipeline(results)


def _innermost(dataset_cfg):
    while 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def synthetic_shape(dataset_cfg):
    """Raw image size of the config's dataset: CIFAR 32x32, Fashion-MNIST
    28x28 (grey replicated to RGB), otherwise a typical ImageNet photo."""
    kind = str(_innermost(dataset_cfg).get('type', ''))
    if 'CIFAR' in kind:
        return (32, 32, 3)
    if 'MNIST' in kind:
        return (28, 28, 3)
    return (375, 500, 3)


def build_train_data(cfg, args, num_classes):
    """Training loader of the config; synthetic if its files are missing.

    Returns:
        tuple: (DataLoader, description string)
    """
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    if args.workers is not None:
        loader_cfg['num_workers'] = args.workers
        if args.workers == 0:
            loader_cfg['persistent_workers'] = False
    dataset_cfg = loader_cfg['dataset']
    reason = 'forced by --synthetic' if args.synthetic else None
    dataset = None
    if not args.synthetic:
        try:
            dataset = DATASETS.build(dataset_cfg)
            description = f'{type(dataset).__name__} (the config\'s files)'
        except FileNotFoundError as err:
            reason = f'dataset files missing: {err}'
    if dataset is None:
        shape = synthetic_shape(dataset_cfg)
        pipeline = _innermost(dataset_cfg).get('pipeline', [])
        length = loader_cfg['batch_size'] * (args.data_batches + 2)
        dataset = SyntheticDataset(length, shape, num_classes, pipeline)
        description = (f'SYNTHETIC: random uint8 {shape[0]}x{shape[1]}x'
                       f'{shape[2]} images through the config\'s train '
                       f'pipeline ({reason})')
    loader_cfg['dataset'] = dataset
    return Runner.build_dataloader(loader_cfg, seed=0), description


def load_config(args) -> Config:
    """The config with ``--cfg-options`` and ``--batch-size`` applied; sets
    ``--threads`` (``args`` of ``tools/benchmark.py`` or
    ``tools/check_numerics.py``)."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.batch_size:
        cfg.train_dataloader.batch_size = args.batch_size
    if args.threads:
        torch.set_num_threads(args.threads)
    return resolve_stage_schedule(cfg)  # the stage recipe, read once
