# Copyright (c) shike-mm contributors. All rights reserved.
"""The public SHIKE training loop on a config's data, for epoch times.

Runs the structure of ``train`` / ``validate`` in ``cifarTrain.py`` of
github.com/jinyan-06/SHIKE (commit 2b04b62) with its model and stage-1 loss,
loaded at run time from a checkout by ``shike_mm/testing/shike_reference.py``:
per iteration zero_grad, forward, ``mix_outputs`` on one-hot labels, top-1 /
top-5 accuracy, ``loss.item()``, backward, SGD step (lr 0.05, momentum 0.9,
weight decay 5e-4), a progress line every ``--print-freq`` iterations; after
each epoch a full pass over the test set and a checkpoint. Their
CUDA-only autocast / GradScaler are left out (float32 throughout). As their
``DataLoader(shuffle=True)`` does, each epoch draws a new order
(``sampler.set_epoch``).

The checkpoint (``<work-dir>/checkpoint.pth``, replaced atomically after
each epoch) holds the model, both optimizers, the random states, the
elapsed times and the last validation, so ``--resume`` continues a killed
run from its last finished epoch to the same numbers; it refuses a
checkpoint written with another config, seed or schedule, naming the
setting.

By default the learning rate stays at 0.05 (enough for epoch times). With
``--public-schedule`` the run follows ``cifarTrain.py`` to the end: the
learning rate of their ``CosineAnnealingLRWarmup`` (stage 1: 0.05 rising to
0.15 over 5 epochs, then a cosine to 0 at ``--cornerstone``; from the
cornerstone a second SGD optimizer, 0.05 rising to 0.1, cosine over the
last 20 epochs), and from ``--cornerstone`` their classifier retraining:
every parameter but ``rt_classifiers`` frozen, the model called with
``crt=True`` and ``mix_outputs(..., balance=True, label_dis=counts)``, the
counts being the config's training set's. The last epoch's top-1 and its
many / medium / few-shot accuracy (more than 100, 20 to 100, fewer than 20
training images) are printed and written to ``<work-dir>/result.json``.

The data are the config's: its training and validation loaders (dataset,
long-tailed subset, augmentation, batch size, workers), so both loops read
the same images with the same augmentation; the batches are normalised with
the config's mean / std, as their transforms do.

It prints, per epoch, the seconds spent training and validating, and their
totals, to compare with ``tools/train.py``'s ``PhaseTimeHook`` lines.

Example (the quickstart data, as ``tools/train.py`` would train it)::

    python tools/reference_train.py \\
        configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py \\
        --reference-repo ../SHIKE --epochs 2 --work-dir work_dirs/reference

The public loop at the paper's budget (200 epochs, retraining from 180)::

    python tools/reference_train.py \\
        configs/shike/shike_r32_fashion-mnist-lt-r100-1k_200e.py \\
        --reference-repo ../SHIKE --epochs 200 --public-schedule \\
        --val-interval 5 --seed 0 --work-dir work_dirs/reference_200e_seed0 \\
        --resume
"""
import argparse
import json
import math
import os
import os.path as osp
import random
import time

# shike_mm before torch: importing it registers shike-mm datasets and bounds
# how long OpenMP threads spin (shike_mm/utils/omp_env.py), which libgomp
# reads when it loads
import shike_mm  # noqa: F401  # isort: skip
import numpy as np
import torch
from mmengine.config import Config, DictAction

from mmengine.registry import init_default_scope
from mmengine.runner import Runner, set_random_seed

from shike_mm.testing.shike_reference import (build_reference_step,
                                              cpu_cuda_calls, load_reference)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='the public SHIKE training loop on a config\'s data')
    parser.add_argument('config', help='config whose data to train on')
    parser.add_argument(
        '--reference-repo',
        required=True,
        metavar='PATH',
        help='checkout of github.com/jinyan-06/SHIKE (commit 2b04b62)')
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument(
        '--val-interval',
        type=int,
        default=1,
        help='validate every N epochs (theirs: 1)')
    parser.add_argument(
        '--print-freq', type=int, default=100, help='theirs: 100')
    parser.add_argument(
        '--public-schedule',
        action='store_true',
        help='their learning-rate schedule and classifier retraining from '
        '--cornerstone (default: a constant 0.05, stage 1 only)')
    parser.add_argument(
        '--cornerstone',
        type=int,
        default=180,
        help='first epoch of their classifier retraining (theirs: 180)')
    parser.add_argument('--work-dir', default='work_dirs/reference_train')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--resume',
        action='store_true',
        help='continue from <work-dir>/checkpoint.pth after its last '
        'finished epoch (starts afresh when there is none)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config')
    return parser.parse_args(argv)


def accuracy(output, target, topk=(1, )):
    """As ``cifarTrain.accuracy``: top-k accuracy in percent."""
    with torch.no_grad():
        maxk = max(topk)
        _, pred = output.topk(maxk, 1, True, True)
        correct = pred.t().eq(target.view(1, -1).expand_as(pred.t()))
        return [
            correct[:k].reshape(-1).float().sum(0) * 100.0 / target.size(0)
            for k in topk
        ]


def public_lr(epoch, total_epochs, warmup_lr, base_lr=0.05, warmup_epochs=5):
    """The learning rate of ``CosineAnnealingLRWarmup`` (``utils.py`` of
    the public code) in the epoch it has been stepped to: a linear rise
    from ``base_lr`` (reached at epoch 1) to ``warmup_lr``, then a cosine
    from ``warmup_lr`` at ``warmup_epochs`` to 0 at ``total_epochs``.
    Epoch 0 is one warm-up step below ``base_lr``, as theirs is."""
    if epoch < warmup_epochs:
        return ((warmup_lr - base_lr) / (warmup_epochs - 1) * (epoch - 1) +
                base_lr)
    return warmup_lr * (1 + math.cos(math.pi * (epoch - warmup_epochs) /
                                     (total_epochs - warmup_epochs))) / 2


def shot_accuracy(correct, total, counts):
    """Top-1 per shot group from per-class correct / total counts."""
    groups = dict(
        many=[c for c, n in enumerate(counts) if n > 100],
        medium=[c for c, n in enumerate(counts) if 20 <= n <= 100],
        few=[c for c, n in enumerate(counts) if n < 20])
    result = dict(top1=100 * sum(correct) / max(sum(total), 1))
    for name, classes in groups.items():
        if classes:
            result[name] = 100 * sum(correct[c] for c in classes) / max(
                sum(total[c] for c in classes), 1)
    return result


def to_tensors(batch, mean, std):
    """A packed mmpretrain batch as their loader yields it: normalised
    float images (N, C, H, W) and integer labels (N, )."""
    images = torch.stack(batch['inputs']).float()
    images = (images - mean) / std
    labels = torch.as_tensor([int(s.gt_label) for s in batch['data_samples']])
    return images, labels


#: The settings a checkpoint must share with the run that resumes it.
RUN_SETTINGS = ('config', 'seed', 'epochs', 'public_schedule', 'cornerstone',
                'cfg_options')


def run_settings(args):
    """The arguments that decide what a run computes, as saved in its
    checkpoint (``--val-interval`` and ``--print-freq`` only change what is
    printed)."""
    settings = {key: getattr(args, key) for key in RUN_SETTINGS}
    settings['cfg_options'] = dict(args.cfg_options or {})
    return settings


def random_states():
    """The main process's torch, numpy and Python random states."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return dict(
        torch=torch.get_rng_state(),
        numpy=[kind, torch.from_numpy(keys.astype(np.int64)), pos,
               has_gauss, cached],
        python=random.getstate())


def set_random_states(states):
    """Restore what :func:`random_states` returned."""
    torch.set_rng_state(states['torch'])
    kind, keys, pos, has_gauss, cached = states['numpy']
    np.random.set_state(
        (kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    random.setstate(states['python'])


def save_checkpoint(path, state):
    """Write ``state`` to ``path`` through a temporary file in the same
    folder, so a kill leaves the previous checkpoint whole."""
    tmp = path + '.tmp'
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_resume_state(path, args):
    """The checkpoint at ``path`` if it was written by a run with the same
    :data:`RUN_SETTINGS`; ``SystemExit`` naming the first that differs."""
    state = torch.load(path, map_location='cpu', weights_only=True)
    if 'run_settings' not in state:
        raise SystemExit(f'{path}: no run settings saved (written before '
                         f'--resume existed); start in a new --work-dir')
    saved, current = state['run_settings'], run_settings(args)
    for key in RUN_SETTINGS:
        if saved.get(key) != current[key]:
            raise SystemExit(
                f'{path} was written with {key}={saved.get(key)!r}, this run '
                f'has {key}={current[key]!r}: resume with the same settings '
                f'or use another --work-dir')
    return state


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    set_random_seed(args.seed)
    os.makedirs(args.work_dir, exist_ok=True)
    preprocessor = cfg.get('data_preprocessor', cfg.model.get(
        'data_preprocessor', {}))
    mean = torch.tensor(preprocessor['mean']).view(1, -1, 1, 1)
    std = torch.tensor(preprocessor['std']).view(1, -1, 1, 1)
    num_classes = cfg.model.head.num_classes

    train_loader = Runner.build_dataloader(cfg.train_dataloader,
                                           seed=args.seed)
    val_loader = Runner.build_dataloader(cfg.val_dataloader, seed=args.seed)
    counts = np.bincount(
        train_loader.dataset.get_gt_labels(), minlength=num_classes).tolist()
    ref = load_reference(args.reference_repo)
    model, optimizer, step = build_reference_step(
        ref, num_classes, label_dis=counts)
    # cifarTrain.py: a second SGD over all parameters for the retraining
    optimizer_crt = torch.optim.SGD(
        model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    print(f'reference: {ref.repo} (networks.resnet32, cifarTrain.'
          f'mix_outputs, SGD); config data: {args.config}; '
          f'{len(train_loader.dataset)} training images, '
          f'{len(val_loader.dataset)} test images, batch '
          f'{train_loader.batch_size}, {train_loader.num_workers} workers, '
          f'{torch.get_num_threads()} threads', flush=True)

    train_time = val_time = 0.0
    val_runs = 0
    result = {}
    first_epoch = 0
    checkpoint = osp.join(args.work_dir, 'checkpoint.pth')
    if args.resume and osp.isfile(checkpoint):
        state = load_resume_state(checkpoint, args)
        model.load_state_dict(state['state_dict'])
        optimizer.load_state_dict(state['optimizer'])
        optimizer_crt.load_state_dict(state['optimizer_crt'])
        set_random_states(state['random_states'])
        first_epoch = state['epoch']
        train_time, val_time = state['train_time'], state['val_time']
        val_runs, result = state['val_runs'], state['result']
        print(f'resumed from {checkpoint} after epoch {first_epoch}',
              flush=True)
    elif args.resume:
        print(f'no {checkpoint} yet: starting at epoch 1', flush=True)

    for epoch in range(first_epoch, args.epochs):
        if hasattr(train_loader.sampler, 'set_epoch'):
            train_loader.sampler.set_epoch(epoch)
        crt = args.public_schedule and epoch >= args.cornerstone
        epoch_optimizer = optimizer_crt if crt else optimizer
        if crt:  # cifarTrain.main: freeze all but the retrain classifiers
            for name, param in model.named_parameters():
                if not name.startswith('rt_classifiers'):
                    param.requires_grad = False
        if args.public_schedule:
            lr = (public_lr(epoch - args.cornerstone,
                            args.epochs - args.cornerstone, 0.1) if crt else
                  public_lr(epoch, args.cornerstone, 0.15))
            for group in epoch_optimizer.param_groups:
                group['lr'] = lr
        # train (cifarTrain.train)
        start = time.perf_counter()
        model.train()
        end = time.time()
        for i, batch in enumerate(train_loader):
            data_time = time.time() - end
            images, target = to_tensors(batch, mean, std)
            loss, output = step(
                images, target, crt=crt, optimizer=epoch_optimizer)
            acc1, acc5 = accuracy(
                output, target, topk=(1, min(5, num_classes)))
            loss_value = loss.item()
            acc1, acc5 = acc1.item(), acc5.item()
            batch_time = time.time() - end
            end = time.time()
            if i % args.print_freq == 0:
                print(f'Epoch: [{epoch}][{i}/{len(train_loader)}]\tTime '
                      f'{batch_time:6.3f}\tData {data_time:6.3f}\tLoss '
                      f'{loss_value:.4e}\tAcc@1 {acc1:6.2f}\tAcc@5 '
                      f'{acc5:6.2f}', flush=True)
        seconds = time.perf_counter() - start
        train_time += seconds
        line = f'epoch {epoch + 1}: training {seconds:.1f} s'

        # validate (cifarTrain.validate)
        if (epoch + 1) % args.val_interval == 0:
            start = time.perf_counter()
            model.eval()
            correct = [0] * num_classes
            total = [0] * num_classes
            with torch.no_grad(), cpu_cuda_calls():
                for batch in val_loader:
                    images, target = to_tensors(batch, mean, std)
                    outputs = model(images, crt)
                    output = sum(outputs) / len(outputs)
                    hits = output.argmax(1) == target
                    for label, hit in zip(target.tolist(), hits.tolist()):
                        correct[label] += hit
                        total[label] += 1
            seconds = time.perf_counter() - start
            val_time += seconds
            val_runs += 1
            result = dict(epoch=epoch + 1,
                          **shot_accuracy(correct, total, counts))
            line += (f', validation {seconds:.1f} s ({sum(total)} images, '
                     f'top-1 {result["top1"]:.2f} %)')
            if args.public_schedule:
                line += f', lr {lr:.6g}'
                line += ''.join(f', {k} {result[k]:.2f}'
                                for k in ('many', 'medium', 'few')
                                if k in result)
        save_checkpoint(
            checkpoint,
            dict(epoch=epoch + 1, state_dict=model.state_dict(),
                 optimizer=optimizer.state_dict(),
                 optimizer_crt=optimizer_crt.state_dict(),
                 random_states=random_states(), train_time=train_time,
                 val_time=val_time, val_runs=val_runs, result=result,
                 run_settings=run_settings(args)))
        print(line, flush=True)
    if result:
        with open(osp.join(args.work_dir, 'result.json'), 'w') as f:
            json.dump(dict(result, seed=args.seed, config=args.config,
                           public_schedule=args.public_schedule,
                           class_counts=counts), f, indent=1)
        print('last validation: ' + ', '.join(
            f'{k} {v:.2f}' for k, v in result.items() if k != 'epoch') +
              f' (epoch {result["epoch"]})')
    print(f'time: training {train_time:.1f} s ({args.epochs} epochs, '
          f'{train_time / args.epochs:.1f} s/epoch), validation '
          f'{val_time:.1f} s ({val_runs} runs'
          + (f', {val_time / val_runs:.1f} s each' if val_runs else '') + ')')


if __name__ == '__main__':
    main()
