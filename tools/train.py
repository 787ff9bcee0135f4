# Copyright (c) shike-mm contributors. All rights reserved.
"""Train a model with an mmengine config (mmpretrain's command-line contract).

Examples::

    python tools/train.py configs/shike/shike_r32_cifar100-lt-r100.py
    python tools/train.py CONFIG --resume                # latest in work_dir
    python tools/train.py CONFIG --resume work_dirs/x/epoch_3.pth
    python tools/train.py CONFIG --resume --resume-anyway  # config changed
    python tools/train.py CONFIG --cfg-options train_cfg.max_epochs=4
    python tools/train.py CONFIG --epochs 20   # whole schedule, same shape
    tools/dist_train.sh CONFIG 8                         # one process per GPU
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.hooks import Hook

# Make the repository importable when the package is not pip-installed.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from shike_mm.utils.checkpoint_check import check_checkpoint_path  # noqa: E402,E501
from shike_mm.utils.runner_cli import (  # noqa: E402
    build_runner, check_finite_settings, merge_common_args)
from shike_mm.utils.checkpoint_check import (  # noqa: E402
    CheckpointError, state_dict_mismatches)
from shike_mm.engine.stage_schedule import resolve_stage_schedule  # noqa: E402,E501
from shike_mm.engine.runners import finish_distributed  # noqa: E402
from shike_mm.utils.schedule_scaling import rescale_schedule  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or, without a path, from the '
        'latest checkpoint in the work directory')
    parser.add_argument(
        '--epochs',
        type=int,
        help='rescale the whole schedule (LR schedulers, stage boundary, '
        're-weighting epochs, validation / checkpoint intervals) to this '
        'many epochs, keeping its shape; applied after --cfg-options')
    parser.add_argument(
        '--resume-anyway',
        action='store_true',
        help='resume even though the checkpoint was trained with a '
        'different data / model / schedule config (by default that is an '
        'error listing the differences)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic mixed precision (fp16 autocast with a '
        'dynamic loss scale; needs a GPU)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual total batch size')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='disable pin_memory in the dataloaders')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='disable persistent_workers in the dataloaders')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, key=value (e.g. '
        'train_cfg.max_epochs=4 "param_scheduler.0.end=2")')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args) -> Config:
    """Merge the training-only command-line arguments into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    if args.amp:
        import torch
        if not torch.cuda.is_available():
            raise SystemExit(
                '--amp: mixed precision needs a GPU (mmengine\'s '
                'AmpOptimWrapper supports CUDA/NPU/MLU/MUSA only); this '
                'machine has none. Drop --amp to train in float32.')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        try:
            check_checkpoint_path(args.resume)
        except FileNotFoundError:
            raise FileNotFoundError(
                f'--resume: checkpoint file not found: {args.resume}'
            ) from None
        cfg.resume = True
        cfg.load_from = args.resume
    if args.resume_anyway:
        cfg.resume_anyway = True

    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    cfg = merge_common_args(cfg, args)
    # Stage-relative schedulers become absolute epochs before rescaling, so
    # that --epochs moves them with the stages' begins.
    cfg = resolve_stage_schedule(cfg)
    if args.epochs is not None:
        cfg = rescale_schedule(cfg, args.epochs)
    check_finite_settings(cfg)
    return cfg


class LoadFromCheck(Hook):
    """Refuse a ``load_from`` checkpoint that leaves most of the model's
    tensors at their initialisation (another architecture's weights), unless
    the config sets ``allow_partial_load=True``."""

    priority = 'VERY_HIGH'

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if runner._resume or runner.cfg.get('allow_partial_load', False):
            return
        model = runner.model.module if hasattr(runner.model, 'module') \
            else runner.model
        state_dict = checkpoint.get('state_dict', checkpoint)
        mismatched, missing, unexpected = state_dict_mismatches(
            model, state_dict)
        total = len(model.state_dict())
        loaded = total - len(missing) - len(mismatched)
        if total and loaded * 2 < total:
            raise CheckpointError(
                f'load_from {self.filename} loads only {loaded} of the '
                f'model\'s {total} tensors ({len(missing)} missing from it, '
                f'{len(mismatched)} of another shape; {len(unexpected)} of '
                'its entries are not in the model): most of the model '
                'would train from its initialisation. Is it a checkpoint of '
                'another architecture? If partial loading is intended (a '
                'backbone only ...), set allow_partial_load=True in the '
                'config (--cfg-options allow_partial_load=True).')


def stopped_by_interrupt(runner) -> int:
    """Say where Ctrl-C stopped training and which checkpoint
    ``--resume`` continues from, as on SIGTERM; the exit status (130)."""
    from shike_mm.engine.checkpoint_io import read_last_checkpoint
    try:
        last = read_last_checkpoint(runner.work_dir)
    except OSError as err:
        last = f'none usable ({err})'
    kept = ('no checkpoint has been written yet' if last is None else
            f'the last good checkpoint is {last} (--resume continues from '
            'it)')
    print(f'SIGINT received at epoch {runner.epoch + 1}, iteration '
          f'{runner.iter + 1}: training stopped; {kept}', file=sys.stderr,
          flush=True)
    return 128 + 2


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    runner = build_runner(cfg)
    if cfg.get('load_from', None) and not cfg.get('resume', False):
        runner.register_hook(LoadFromCheck(cfg.load_from))
    try:
        runner.train()
    except KeyboardInterrupt:
        raise SystemExit(stopped_by_interrupt(runner)) from None
    finish_distributed()


if __name__ == '__main__':
    main()
