# Copyright (c) shike-mm contributors. All rights reserved.
"""SADE's test-time aggregation: learn the fusion weights of a trained
multi-expert model on each unlabelled shifted test distribution, then score
the aggregated prediction on it.

Run from the repository root (the config imports ``projects.sade.sade``)::

    PYTHONPATH=. python projects/sade/tools/test_time_aggregate.py \\
        CONFIG CHECKPOINT [--work-dir DIR] [--distributions uniform ...]

It first tests the checkpoint as ``tools/test.py --shifted-calibration``
does (the plain prediction), then, for every distribution of
``ShiftedDistributionAccuracy`` (forward 50 ... uniform ... backward 50;
the same subsets of the test set), learns fresh fusion weights on that
subset's images alone with the config's ``test_time_aggregation`` (two
augmented views, objective, optimiser, epochs, batch size) and scores the
fused prediction on the same subset. It prints plain and aggregated top-1
per distribution and writes, under the work dir,
``aggregated_<distribution>.pth`` (the checkpoint with the learned fusion
weights under ``head.fusion.``), ``test_time_aggregation.json`` (all
figures) and ``aggregated_metrics.json`` (each distribution scored with the
weights learned on it, keys ``shifted/<distribution>/<group>`` as
``tools/test.py --metrics-out`` writes them).
"""
import argparse
import copy
import json
import os.path as osp

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config, DictAction
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from projects.sade.sade import (TwoViewDataset, collate_views,
                                learn_aggregation)
from shike_mm.analysis.metrics_file import save_metrics


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Learn SADE\'s fusion weights on each unlabelled shifted '
        'test distribution and score the aggregated prediction')
    parser.add_argument('config', help='config file (with '
                        'test_time_aggregation and a fusion rule)')
    parser.add_argument('checkpoint', help='trained checkpoint')
    parser.add_argument('--work-dir', help='where the log, the aggregated '
                        'checkpoints and test_time_aggregation.json go')
    parser.add_argument(
        '--distributions', nargs='+', help='only these distributions '
        '(e.g. forward50 uniform backward50); default: all')
    parser.add_argument('--epochs', type=int, help='override '
                        'test_time_aggregation.epochs')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, key=value')
    return parser.parse_args(argv)


def build_runner(cfg: Config) -> Runner:
    """mmengine's way: the registered runner type if the config names one."""
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    from mmpretrain.registry import RUNNERS
    return RUNNERS.build(cfg)


def shifted_metric(evaluator):
    """The ``ShiftedDistributionAccuracy`` of a built evaluator."""
    from shike_mm.evaluation import ShiftedDistributionAccuracy
    for metric in evaluator.metrics:
        if isinstance(metric, ShiftedDistributionAccuracy):
            return metric
    raise RuntimeError('the test evaluator has no ShiftedDistributionAccuracy')


def expert_logits(model, data: dict) -> torch.Tensor:
    """The (M, B, C) experts' logits of a batch, in eval mode, no grad."""
    data = model.data_preprocessor(data, False)
    with torch.no_grad():
        feats = model.extract_feat(data['inputs'])
        logits = model.head.expert_logits(feats)  # ExpertLogitsHead
    return logits.float()


def test_set_logits(model, loader, size: int):
    """Experts' logits (M, N, C) and labels (N, ) of the whole test set,
    placed by dataset index."""
    logits, labels = None, np.full(size, -1, dtype=np.int64)
    for data in loader:
        batch = expert_logits(model, data)
        if logits is None:
            logits = batch.new_zeros(batch.size(0), size, batch.size(2))
        ids = [int(s.sample_idx) for s in data['data_samples']]
        logits[:, ids] = batch.cpu()
        labels[ids] = [int(s.gt_label) for s in data['data_samples']]
    return logits, labels


def subsets(metric, labels: np.ndarray, num_classes: int) -> dict:
    """Positions of each distribution's images, as the metric draws them
    (its counts, class order, ``num_per_class`` and seed)."""
    available = np.bincount(labels, minlength=num_classes)
    n_max = metric.num_per_class or int(available[available > 0].min())
    order = metric.class_order(metric.class_counts, num_classes)
    out = {}
    for name, (factor, reverse) in metric.distributions(
            metric.imbalance_factors, metric.uniform).items():
        counts = metric.shifted_class_counts(n_max, order, factor, reverse)
        out[name] = metric.subsample(labels, np.arange(labels.size), counts,
                                     metric.seed)
    return out


def score(metric, fused: torch.Tensor, labels: np.ndarray) -> dict:
    """The metric's figures for fused logits (N, C) of the whole test set."""
    metric = copy.deepcopy(metric)
    metric.results.clear()
    scores = F.softmax(fused, dim=1)
    metric.process(None, [
        dict(pred_score=s, gt_label=torch.tensor([int(y)]), sample_idx=i)
        for i, (s, y) in enumerate(zip(scores, labels))
    ])
    return metric.evaluate(labels.size)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    tta = cfg.get('test_time_aggregation')
    fusion_cfg = cfg.model.head.get('fusion')
    if tta is None or fusion_cfg is None:
        raise ValueError(f'{args.config}: needs test_time_aggregation and '
                         'model.head.fusion (see projects/sade/configs)')
    cfg.work_dir = args.work_dir or osp.join(
        './work_dirs',
        osp.splitext(osp.basename(args.config))[0] + '_aggregated')
    cfg.load_from = args.checkpoint
    cfg.resume = False
    evaluators = cfg.test_evaluator if isinstance(
        cfg.test_evaluator, (list, tuple)) else [cfg.test_evaluator]
    if not any(e.get('type') == 'ShiftedDistributionAccuracy'
               for e in evaluators):
        cfg.test_evaluator = list(evaluators) + [
            dict(type='ShiftedDistributionAccuracy')
        ]
    loader_cfg = cfg.test_dataloader
    if loader_cfg.get('num_workers', 0) == 0:
        loader_cfg.persistent_workers = False

    runner = build_runner(cfg)
    plain_metrics = runner.test()  # loads the checkpoint and class counts
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    model.eval()
    metric = shifted_metric(runner.test_evaluator)

    from mmpretrain.registry import DATASETS, MODELS
    dataset = runner.test_dataloader.dataset
    logits, labels = test_set_logits(model, runner.test_dataloader,
                                     len(dataset))
    num_experts, _, num_classes = logits.shape
    positions = subsets(metric, labels, num_classes)
    names = args.distributions or list(positions)
    unknown = sorted(set(names) - set(positions))
    if unknown:
        raise ValueError(f'--distributions {unknown}: not among '
                         f'{list(positions)}')

    aug_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    aug_cfg.pipeline = tta.pipeline
    aug_dataset = DATASETS.build(aug_cfg)
    if len(aug_dataset) != len(dataset):
        raise RuntimeError('the test_time_aggregation pipeline changed the '
                           f'test set size ({len(aug_dataset)} vs '
                           f'{len(dataset)})')
    epochs = tta.epochs if args.epochs is None else args.epochs

    def fusion_of(weights=None):
        fusion = MODELS.build(copy.deepcopy(fusion_cfg))
        if weights is not None:
            fusion.load_state_dict(weights)
        return fusion

    plain = score(metric, fusion_of()(logits).detach(), labels)
    checkpoint = torch.load(args.checkpoint, map_location='cpu',
                            weights_only=True)
    report = dict(config=args.config, checkpoint=args.checkpoint,
                  plain_test_metrics=plain_metrics, distributions={})
    rows = []
    for name in names:
        loader = DataLoader(
            TwoViewDataset(aug_dataset, positions[name]),
            batch_size=tta.batch_size, shuffle=True,
            num_workers=loader_cfg.get('num_workers', 0),
            collate_fn=collate_views)

        def view_batches():
            for view1, view2 in loader:
                yield expert_logits(model, view1), expert_logits(model, view2)

        fusion = fusion_of()
        result = learn_aggregation(
            fusion, view_batches, optimizer=dict(tta.optimizer),
            epochs=epochs, stop_below=tta.get('stop_below', 0.05))
        with torch.no_grad():
            aggregated = score(metric, fusion(logits), labels)
        prefix = f'shifted/{name}/'
        entry = dict(
            images=int(positions[name].size), weights=result.weights,
            epochs=result.epochs, objective=result.losses,
            plain={k[len(prefix):]: v for k, v in plain.items()
                   if k.startswith(prefix)},
            aggregated={k[len(prefix):]: v for k, v in aggregated.items()
                        if k.startswith(prefix)})
        report['distributions'][name] = entry
        rows.append((name, entry))

        out = dict(meta=dict(checkpoint.get('meta', {})),
                   state_dict=dict(checkpoint['state_dict']))
        for key, value in fusion.state_dict().items():
            out['state_dict'][f'head.fusion.{key}'] = value.detach().cpu()
        out['meta']['test_time_aggregation'] = dict(
            distribution=name, weights=result.weights, epochs=result.epochs)
        torch.save(out, osp.join(cfg.work_dir, f'aggregated_{name}.pth'))

    with open(osp.join(cfg.work_dir, 'test_time_aggregation.json'),
              'w') as f:
        json.dump(report, f, indent=1)
    # each distribution scored with the weights learned on it, as one
    # metrics file that tools/analysis_tools/collect_metrics.py reads
    save_metrics(
        {f'shifted/{name}/{group}': value
         for name, entry in rows
         for group, value in entry['aggregated'].items()},
        osp.join(cfg.work_dir, 'aggregated_metrics.json'))
    print('SADE test-time aggregation (top-1 %, plain = mean of the '
          'experts\' logits)')
    print(f'{"distribution":<14}{"images":>7}{"plain":>8}{"aggregated":>12}'
          f'  weights (epochs)')
    for name, entry in rows:
        weights = ' '.join(f'{w:.2f}' for w in entry['weights'])
        print(f'{name:<14}{entry["images"]:>7}{entry["plain"]["top1"]:>8.2f}'
              f'{entry["aggregated"]["top1"]:>12.2f}  {weights} '
              f'({entry["epochs"]})')
    print(f'written: {cfg.work_dir}/aggregated_<distribution>.pth, '
          'test_time_aggregation.json, aggregated_metrics.json')
    return report


if __name__ == '__main__':
    main()
