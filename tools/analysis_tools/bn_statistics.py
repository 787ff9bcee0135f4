# Copyright (c) shike-mm contributors. All rights reserved.
"""BatchNorm statistics per shot group, and accuracy with them re-estimated.

For each checkpoint, on the config's test set (``--split val``: its
validation set):

- top-1 and many / medium / few-shot accuracy as validated, with the
  running statistics stored in the checkpoint;
- the same after re-estimating every BatchNorm layer's statistics on the
  config's training loader with the weights fixed (the average of the
  per-batch statistics over one pass; ``--no-reestimate`` skips it). A
  validation that recovers here lost its accuracy to running statistics
  that lag behind the weights, not to the weights;
- how the stored statistics fit the test images of each group: the
  channel means' distance from the running mean in running standard
  deviations (``shift``) and the variance over the running variance
  (``var ratio``), averaged over channels and layers. On long-tailed data
  the training batches are mostly many-shot images; a larger shift for the
  few-shot group means their images are normalised with statistics that
  describe other classes.

Prints one row per checkpoint; ``--out`` also writes the numbers as JSON.

Examples::

    python tools/analysis_tools/bn_statistics.py CONFIG \\
        work_dirs/run/epoch_45.pth work_dirs/run/epoch_50.pth
    python tools/analysis_tools/bn_statistics.py CONFIG work_dirs/run/*.pth \\
        --cfg-options test_dataloader.dataset.indices=2000 --out bn.json
"""
import json
import os
import os.path as osp
import re
from typing import Optional

import torch

from shike_mm.analysis.bn_statistics import (BNGroupStatistics, accuracy_rows,
                                             fit_rows, group_accuracy,
                                             reestimate_bn_statistics)
from shike_mm.analysis.cli import add_common_args, tool_parser
from shike_mm.analysis.lt_analysis import (build_dataloader, build_model,
                                           collect_logits, format_table,
                                           load_config, run_class_counts)
from shike_mm.structures import shot_groups


def parse_args(argv=None):
    parser = tool_parser(__file__, __doc__)
    parser.add_argument('config', help='config of the model')
    parser.add_argument(
        'checkpoints', nargs='+', help='checkpoints of that config')
    parser.add_argument(
        '--no-reestimate',
        action='store_true',
        help='only the stored statistics (no pass over the training set)')
    parser.add_argument(
        '--split',
        choices=['test', 'val'],
        default='test',
        help='evaluate on test_dataloader (default) or val_dataloader')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='seed of the training loader\'s order and augmentation for '
        'the re-estimation (default 0)')
    add_common_args(
        parser,
        out_help='JSON file for the numbers (folders created)',
        out_required=False)
    return parser.parse_args(argv)


def checkpoint_epoch(checkpoint: str) -> Optional[int]:
    """The epoch a checkpoint was saved after (``meta.epoch``), else the
    number in an ``epoch_N.pth`` name, else None."""
    ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    if isinstance(meta, dict) and isinstance(meta.get('epoch'), int):
        return meta['epoch']
    match = re.fullmatch(r'epoch_(\d+)\.pth', osp.basename(checkpoint))
    return int(match.group(1)) if match else None


def measure(cfg, checkpoint: str, device: str, test_loader,
            train_loader, many_shot_thr: int, few_shot_thr: int) -> dict:
    """The numbers of one checkpoint (see the module docstring) on
    ``test_loader``; ``train_loader`` None: no re-estimation."""
    model = build_model(cfg, checkpoint, device)
    stats = BNGroupStatistics(model)
    try:
        _, logits, labels = collect_logits(
            model, test_loader, device=device, before_batch=stats.set_labels)
    finally:
        stats.remove()
    num_classes = logits.shape[1]
    counts, _ = run_class_counts(cfg, checkpoint, num_classes)
    in_group = shot_groups(counts, many_shot_thr, few_shot_thr)
    result = dict(
        name=osp.basename(checkpoint),
        checkpoint=checkpoint,
        epoch=checkpoint_epoch(checkpoint),
        stored=group_accuracy(logits, labels, in_group),
        fit=stats.fit(in_group),
        reestimated=None)
    if train_loader is not None:
        result['reestimate_batches'] = reestimate_bn_statistics(
            model, train_loader, device)
        _, logits, labels = collect_logits(model, test_loader, device=device)
        result['reestimated'] = group_accuracy(logits, labels, in_group)
    return result


def main(argv=None):
    args = parse_args(argv)
    for path in args.checkpoints:
        if not osp.isfile(path):
            raise FileNotFoundError(f'checkpoint file not found: {path}')
    cfg = load_config(args.config, args.cfg_options)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    # built once, iterated once or twice per checkpoint (the sampler's
    # seeded order is the same on every pass)
    test_loader = build_dataloader(cfg, f'{args.split}_dataloader')
    train_loader = None if args.no_reestimate else build_dataloader(
        cfg, 'train_dataloader', seed=args.seed)
    results = []
    for i, path in enumerate(args.checkpoints, 1):
        results.append(
            measure(cfg, path, device, test_loader, train_loader,
                    args.many_shot_thr, args.few_shot_thr))
        re_est = results[-1]['reestimated']
        print(f'[{i}/{len(args.checkpoints)}] {path}: top-1 '
              f'{results[-1]["stored"]["top1"]:.2f} stored' +
              (f', {re_est["top1"]:.2f} re-estimated' if re_est else ''),
              flush=True)
    print()
    print(f'Accuracy (%) on the {args.split} set with the stored and with '
          f'the re-estimated BN statistics:')
    print(format_table(*accuracy_rows(results)))
    print()
    print(f'Fit of the stored BN statistics to the {args.split} images '
          f'of each group (mean over channels, then layers):')
    print(format_table(*fit_rows(results)))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)
        print(f'numbers written to {args.out}')
    return results


if __name__ == '__main__':
    main()
