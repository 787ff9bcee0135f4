# Copyright (c) shike-mm contributors. All rights reserved.
"""Parameters and FLOPs of a model config (mmpretrain's get_flops contract).

Unlike mmpretrain's tool this counts the whole classifier by default
(backbone, neck and the head's forward, i.e. the mean of the experts'
logits); ``--backbone-only`` counts ``extract_feat`` only. For SHIKE it
also prints the parameters and FLOPs of the DKF alignment layers
(``backbone.fusion_layers``). FLOPs follow
mmengine's (fvcore's) convention: one multiply-add counts as one FLOP, so
the numbers are multiply-accumulates (MACs). Parameters count every
parameter, including classifiers the forward does not use (SHIKE's
``retrain_classifiers``).

Examples::

    python tools/analysis_tools/get_flops.py \\
        configs/_base_/models/shike_r32_cifar.py --shape 32
    python tools/analysis_tools/get_flops.py \\
        configs/_base_/models/shike_r50.py \\
        --cfg-options model.head.num_classes=8142
    # the reference 3x3 DKF chains instead of the light default
    python tools/analysis_tools/get_flops.py \\
        configs/_base_/models/shike_r50.py \\
        --cfg-options model.backbone.fusion_align=conv3x3
"""
import argparse
import os.path as osp
import sys

import torch
from mmengine.analysis import FlopAnalyzer, get_model_complexity_info
from mmengine.config import Config, DictAction

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmpretrain.registry import MODELS  # noqa: E402

import shike_mm  # noqa: E402,F401  (registers shike-mm modules)


def parse_args():
    parser = argparse.ArgumentParser(description='Get model flops and params')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=[224, 224],
        help='input image size')
    parser.add_argument(
        '--backbone-only',
        action='store_true',
        help='count extract_feat (backbone + neck) only, like mmpretrain')
    parser.add_argument(
        '--show-table',
        action='store_true',
        help='print the per-module table of mmengine')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, e.g. '
        'model.head.num_classes=365')
    return parser.parse_args()


def _params(module):
    return sum(p.numel() for p in module.parameters())


def main():
    args = parse_args()
    if len(args.shape) == 1:
        input_shape = (3, args.shape[0], args.shape[0])
    elif len(args.shape) == 2:
        input_shape = (3, ) + tuple(args.shape)
    else:
        raise ValueError('invalid input shape')

    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    model = MODELS.build(cfg.model)
    model.eval()
    if args.backbone_only:
        model.forward = model.extract_feat
    backbone = getattr(model, 'backbone', None)
    if getattr(backbone, 'grouped_experts', False):
        # the grouped path runs the same operations; the loop attributes
        # them to the per-expert modules
        backbone.grouped_experts = False

    with torch.no_grad():
        results = get_model_complexity_info(
            model, input_shape, show_table=args.show_table, show_arch=False)
        fusion = getattr(backbone, 'fusion_layers', None)
        fusion_flops = None
        if fusion is not None and len(fusion):
            analyzer = FlopAnalyzer(model, (torch.randn(1, *input_shape), ))
            analyzer.unsupported_ops_warnings(False)
            analyzer.uncalled_modules_warnings(False)
            fusion_flops = analyzer.by_module().get('backbone.fusion_layers')

    if args.show_table:
        print(results['out_table'])
    split_line = '=' * 40
    lines = [
        split_line, f'Config: {args.config}', f'Input shape: {input_shape}',
        f'FLOPs (multiply-adds): {results["flops"]:,} '
        f'({results["flops_str"]})',
        f'Params (all): {_params(model):,} ({results["params_str"]})'
    ]
    for name in ('backbone', 'neck', 'head'):
        sub = getattr(model, name, None)
        if sub is not None:
            lines.append(f'  {name}: {_params(sub):,}')
    for name in ('classifiers', 'retrain_classifiers'):
        sub = getattr(getattr(model, 'head', None), name, None)
        if sub is not None:
            lines.append(f'    head.{name}: {_params(sub):,}')
    if fusion_flops is not None:
        lines.append(f'DKF alignment (backbone.fusion_layers, '
                     f'{getattr(backbone, "fusion_align", "?")}): '
                     f'{_params(fusion):,} params, {fusion_flops:,} FLOPs')
    lines.append(split_line)
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
