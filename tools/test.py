# Copyright (c) shike-mm contributors. All rights reserved.
"""Evaluate a checkpoint with an mmengine config.

Examples::

    python tools/test.py CONFIG work_dirs/x/epoch_200.pth
    python tools/test.py CONFIG CKPT --out results.pkl
    python tools/test.py CONFIG CKPT --shifted-calibration
    python tools/test.py CONFIG CKPT --metrics-out metrics.json
    tools/dist_test.sh CONFIG CKPT 8
"""
import argparse
import os

# shike_mm before torch: importing it bounds how long OpenMP threads
# spin (shike_mm/utils/omp_env.py), which libgomp reads when it loads
import shike_mm  # noqa: F401  # isort: skip
from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process

from shike_mm.analysis.metrics_file import save_metrics
from shike_mm.analysis.metrics_table import metrics_tables
from shike_mm.engine.checkpoint import check_checkpoint_path
from shike_mm.engine.hooks.test_dataset_check_hook import (
    TestDatasetCheckHook, empty_test_set)
from shike_mm.engine.runners import finish_distributed
from shike_mm.engine.stages import resolve_stage_schedule
from shike_mm.utils.runner_cli import build_runner, merge_common_args


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the directory to save the evaluation log')
    parser.add_argument(
        '--out',
        help='dump every prediction (pred_score, pred_label, gt_label, '
        'sample_idx as torch tensors, one dict per image) to this pickle '
        'file, about 170 bytes per image for 10 classes')
    parser.add_argument(
        '--metrics-out',
        metavar='FILE.json',
        help='also write the metrics (every key of the log line, per-class '
        'lists included) to this JSON file, e.g. for '
        'tools/analysis_tools/collect_metrics.py')
    parser.add_argument(
        '--expert-logits',
        action='store_true',
        help='also keep every expert\'s logits in the predictions '
        '(multi-expert heads; M x C floats per image in --out)')
    parser.add_argument(
        '--shifted-calibration',
        action='store_true',
        help='also report top-1 on forward/backward long-tailed and uniform '
        'subsets of the test set (ShiftedDistributionAccuracy) and ECE / '
        'NLL (CalibrationError), from the same single pass')
    parser.add_argument(
        '--show-dir',
        help='save images with their predictions to this directory')
    parser.add_argument(
        '--show', action='store_true', help='show images with predictions')
    parser.add_argument(
        '--interval', type=int, default=1, help='visualize every N samples')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, key=value')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--allow-dataset-mismatch',
        action='store_true',
        help='evaluate even when the checkpoint was trained on other '
        'classes than the test dataset has (by default an error naming '
        'both)')
    parser.add_argument('--no-pin-memory', action='store_true')
    parser.add_argument('--no-persistent-workers', action='store_true')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def as_list(evaluator) -> list:
    """The metric configs of an evaluator config, as a new list."""
    return list(evaluator) if isinstance(evaluator,
                                         (list, tuple)) else [evaluator]


def merge_args(cfg: Config, args) -> Config:
    """Merge the test-only command-line arguments into the config."""
    if '://' not in args.checkpoint:
        check_checkpoint_path(args.checkpoint)
    metrics_out = getattr(args, 'metrics_out', None)
    if metrics_out is not None and not metrics_out.endswith('.json'):
        raise ValueError(
            f'--metrics-out must end with .json, got {metrics_out!r}')
    # --cfg-options first: they address the config as written (e.g.
    # test_evaluator.many_shot_thr), before --out turns the evaluator into
    # a list.
    cfg = merge_common_args(cfg, args)
    cfg.load_from = args.checkpoint
    cfg.resume = False

    if args.show or args.show_dir:
        vis = cfg.default_hooks.get('visualization')
        if vis is None:
            raise KeyError('--show/--show-dir need a VisualizationHook in '
                           'cfg.default_hooks.visualization')
        vis.enable = True
        vis.out_dir = args.show_dir
        vis.show = args.show
        vis.interval = args.interval

    if getattr(args, 'shifted_calibration', False):
        cfg.test_evaluator = as_list(cfg.test_evaluator) + [
            dict(type='ShiftedDistributionAccuracy'),
            dict(type='CalibrationError')
        ]
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must end with .pkl, got {args.out!r}')
        cfg.test_evaluator = as_list(cfg.test_evaluator)
        # mmengine's DumpResults, without a copy of the whole batch's
        # scores in every prediction (10 kB each for 10 classes)
        cfg.test_evaluator.append(dict(type='CompactDumpResults',
                                       out_file_path=args.out))
    if args.expert_logits:
        cfg.model.head.keep_expert_logits = True
    # The shot groups come from the class counts stored in the checkpoint;
    # ClassCountsHook reads the config's training set only for checkpoints
    # written without them. The stage recipe is read once, here; the stage
    # hook puts the head in the mode of the checkpoint's last stage.
    return resolve_stage_schedule(cfg)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    runner = build_runner(cfg)
    runner.register_hook(
        TestDatasetCheckHook(args.checkpoint, args.allow_dataset_mismatch))
    try:
        metrics = runner.test()
    except ValueError as err:
        # mmengine serialises the data list with np.concatenate, which
        # fails on an empty one before any hook runs
        if 'need at least one array to concatenate' not in str(err):
            raise
        name = cfg.test_dataloader.dataset.get('type', 'the test dataset')
        raise empty_test_set(str(name)) from err
    if metrics and is_main_process():  # the log line, as tables
        print(metrics_tables(metrics), flush=True)
        if args.metrics_out:
            save_metrics(metrics, args.metrics_out)
            print(f'metrics written to {args.metrics_out}')
    finish_distributed()
    if args.out:
        print(f'predictions written to {args.out}')
    return metrics


if __name__ == '__main__':
    main()
