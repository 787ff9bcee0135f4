# Copyright (c) shike-mm contributors. All rights reserved.
"""How far each speed variant's float32 training step is from the exact one.

A faster kernel (grouped convolutions, channels-last, ``torch.compile``)
computes the same mathematics with other rounding. Whether it may be the
default depends on how much that rounding costs, so this tool measures it
on one real training batch:

- the exact result: ``shike_mm/testing/plain_shike.py`` (the
  straightforward model) in float64, same weights, same batch;
- the plain model in float32: the rounding error every float32 run has;
- each variant in float32: its error against float64, and its distance
  from the plain float32 result (what an element-wise equality test with
  the plain model sees).

It prints, for the stage-1 losses and every parameter gradient, the largest
absolute difference and the largest difference relative to its tensor's
largest entry. A variant is as exact as the plain model when its float32
error against float64 is of the same size as the plain model's own.

Examples::

    python tools/check_numerics.py configs/shike/shike_r32_cifar100-lt-r100.py
    # a trained model on the quickstart data, every variant
    python tools/check_numerics.py \\
        configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py \\
        --checkpoint work_dirs/quickstart/epoch_16.pth \\
        --variants default grouped-off channels-last compile
"""
import argparse
import copy

# shike_mm before torch: importing it registers shike-mm modules and bounds
# how long OpenMP threads spin (shike_mm/utils/omp_env.py), which libgomp
# reads when it loads
import shike_mm  # noqa: F401  # isort: skip
import torch
from mmengine.config import DictAction

from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint, set_random_seed
from mmpretrain.registry import MODELS

from shike_mm.protocols import StagedHead
from shike_mm.testing.plain_shike import build_plain, plain_losses
from shike_mm.testing.train_data import build_train_data, load_config

# backbone options of each variant (default: the config's backbone,
# uncompiled; compile*: that one through torch.compile, as the runner does)
VARIANTS = {
    'default': {},
    'grouped-off': dict(grouped_experts=False),
    'channels-last': dict(channels_last=True),
    'compile': {},
    'compile-channels-last': dict(channels_last=True),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='float32 error of each speed variant against the '
        'float64 plain model, on one training batch')
    parser.add_argument('config', help='a SHIKE ResNet-32 config')
    parser.add_argument(
        '--checkpoint', help='weights to load (default: initialised)')
    parser.add_argument(
        '--variants',
        nargs='+',
        choices=sorted(VARIANTS),
        default=['default', 'grouped-off', 'channels-last'],
        help='variants to measure (compile takes minutes on a CPU)')
    parser.add_argument(
        '--batch-size', type=int, help='batch size (default: the config)')
    parser.add_argument('--threads', type=int, help='torch.set_num_threads')
    parser.add_argument('--seed', type=int, default=0, help='data and init')
    parser.add_argument(
        '--synthetic',
        action='store_true',
        help='random images even if the dataset exists')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config')
    return parser.parse_args(argv)


def stage1(model):
    """Representation-learning mode whatever the checkpoint's stage."""
    head = model.head
    if isinstance(head, StagedHead):
        head.set_mode('experts')
    return model.train()


def step(losses, named_params):
    """Backward of the summed losses; the detached losses and gradients as
    float64 tensors keyed by name."""
    sum(losses.values()).backward()
    values = {k: v.detach().double() for k, v in losses.items()}
    grads = {
        name: p.grad.detach().double()
        for name, p in named_params if p.grad is not None
    }
    return values, grads


def distance(result, reference):
    """(largest absolute, largest relative-to-tensor-max) difference and
    the name of the tensor with the largest relative one."""
    worst_abs, worst_rel, where = 0.0, 0.0, ''
    values, grads = result
    ref_values, ref_grads = reference
    if set(grads) != set(ref_grads):
        raise RuntimeError('variant and reference have different parameters'
                           f': {sorted(set(grads) ^ set(ref_grads))}')
    pairs = [(f'loss {k}', values[k], ref_values[k]) for k in ref_values]
    pairs += [(k, grads[k], ref_grads[k]) for k in ref_grads]
    for name, a, b in pairs:
        diff = (a - b).abs().max().item()
        rel = diff / max(b.abs().max().item(), 1e-30)
        worst_abs = max(worst_abs, diff)
        if rel > worst_rel:
            worst_rel, where = rel, name
    return worst_abs, worst_rel, where


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    MMLogger.get_instance('check_numerics', log_level='ERROR')
    # images, augmentation and initial weights from the one seed
    set_random_seed(args.seed)

    data_args = argparse.Namespace(
        workers=0, synthetic=args.synthetic, data_batches=1)
    loader, description = build_train_data(cfg, data_args,
                                           cfg.model.head.num_classes)
    batch = next(iter(loader))

    model = MODELS.build(cfg.model)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu',
                        strict=False)
    else:
        model.init_weights()
    stage1(model)
    state = copy.deepcopy(model.state_dict())
    data = model.data_preprocessor(batch, True)
    inputs, samples = data['inputs'], data['data_samples']
    target = torch.as_tensor([int(s.gt_label) for s in samples])

    def plain_result(dtype):
        plain = build_plain(model, cfg).to(dtype).train()
        return step(plain_losses(plain(inputs.to(dtype)), target),
                    plain.named_parameters())

    exact = plain_result(torch.float64)
    plain32 = plain_result(torch.float32)
    print(f'config: {args.config}')
    print(f'weights: {args.checkpoint or "initialised (seed %d)" % args.seed}')
    print(f'data: {description}; one batch of {len(target)}')
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    print('largest |difference| over the losses and every gradient '
          '(relative: to the tensor\'s largest entry)')
    header = (f'{"variant (float32)":<18} {"vs float64 abs":>15} '
              f'{"rel":>9}  {"vs plain float32 abs":>21} {"rel":>9}  '
              'worst tensor (vs float64)')
    print(header)
    print('-' * len(header))
    err = distance(plain32, exact)
    print(f'{"plain":<18} {err[0]:>15.2e} {err[1]:>9.2e}  {"":>21} '
          f'{"":>9}  {err[2]}')
    for name in args.variants:
        variant_cfg = copy.deepcopy(cfg.model)
        variant_cfg.backbone.update(VARIANTS[name])
        variant = MODELS.build(variant_cfg)
        variant.load_state_dict(state, strict=True)
        stage1(variant)
        loss_fn = variant.loss
        if name.startswith('compile'):
            loss_fn = torch.compile(loss_fn)
        result = step(loss_fn(inputs, samples), variant.named_parameters())
        err = distance(result, exact)
        near = distance(result, plain32)
        print(f'{name:<18} {err[0]:>15.2e} {err[1]:>9.2e}  {near[0]:>21.2e} '
              f'{near[1]:>9.2e}  {err[2]}')


if __name__ == '__main__':
    main()
