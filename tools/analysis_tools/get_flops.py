# Copyright (c) shike-mm contributors. All rights reserved.
"""Parameters and FLOPs of a model config (mmpretrain's get_flops contract).

Unlike mmpretrain's tool this counts the whole classifier by default
(backbone, neck and the head's forward, i.e. the mean of the experts'
logits); ``--backbone-only`` counts ``extract_feat`` only. For SHIKE it
also prints the parameters and FLOPs of the DKF alignment layers
(``backbone.fusion_layers``). FLOPs are
counted by :mod:`shike_mm.analysis.complexity` and follow
mmengine's (fvcore's) convention: one multiply-add counts as one FLOP, so
the numbers are multiply-accumulates (MACs). Parameters count every
parameter, including classifiers the forward does not use (SHIKE's
``retrain_classifiers``).

The input size is the one the model sees at test time: the size the test
(else val) pipeline crops or resizes to (224 x 224 for ImageNet-LT), or the
dataset's native size where the pipeline keeps it (28 x 28 for
Fashion-MNIST, 32 x 32 for CIFAR). ``--shape`` overrides it and is needed
for a config without a test or val dataloader (a model-only config).

Examples::

    python tools/analysis_tools/get_flops.py \\
        configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py
    python tools/analysis_tools/get_flops.py \\
        configs/shike/shike_r50_imagenet-lt.py --backbone-only
    # a model-only config has no pipeline: give the size
    python tools/analysis_tools/get_flops.py \\
        configs/_base_/models/shike_r32_cifar.py --shape 32
    # the reference 3x3 DKF chains instead of the light default
    python tools/analysis_tools/get_flops.py \\
        configs/shike/shike_r50_imagenet-lt.py \\
        --cfg-options model.backbone.fusion_align=conv3x3
"""
import argparse
from typing import Optional, Tuple

from mmengine.config import Config, DictAction

from mmpretrain.registry import DATASETS, MODELS

import shike_mm  # noqa: F401  (registers shike-mm modules)
from shike_mm.analysis.complexity import (macs_by_module,
                                          model_complexity)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog='python tools/analysis_tools/get_flops.py',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        help='input image size, H or H W (default: taken from the test '
        'pipeline of the config, see above)')
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
    return parser.parse_args(argv)


# (H, W) of the images of datasets whose test pipeline keeps their size;
# looked up along the registered class's bases, so OfflineCIFAR100 finds
# CIFAR10's.
NATIVE_SIZES = {
    'CIFAR10': (32, 32),
    'MNIST': (28, 28),
    'FashionMNIST': (28, 28),
    'FashionMNISTIDX': (28, 28),
}


def _hw(size, order: str) -> Tuple[int, int]:
    """``size`` (int, or a pair in ``order`` 'hw' or 'wh') as (H, W)."""
    if isinstance(size, int):
        return size, size
    h, w = size if order == 'hw' else tuple(size)[::-1]
    return int(h), int(w)


def native_size(dataset_type) -> Optional[Tuple[int, int]]:
    """(H, W) of the images of a dataset type, if known (NATIVE_SIZES)."""
    cls = dataset_type
    if isinstance(cls, str):
        cls = DATASETS.get(cls)
    if cls is None:
        return None
    for base in getattr(cls, '__mro__', ()):
        if base.__name__ in NATIVE_SIZES:
            return NATIVE_SIZES[base.__name__]
    return None


def pipeline_size(pipeline, size: Optional[Tuple[int, int]] = None
                  ) -> Optional[Tuple[int, int]]:
    """The (H, W) images have after ``pipeline``.

    Args:
        pipeline (list[dict]): Transform configs. Resize, ResizeEdge and the
            crops of mmcv and mmpretrain set the size; other transforms
            keep it.
        size (tuple[int, int], optional): (H, W) of the images going in,
            None if unknown.

    Returns:
        tuple[int, int] | None: None if no transform sets a size and
        ``size`` is None.
    """
    for t in pipeline:
        kind = t.get('type') if isinstance(t, dict) else None
        kind = getattr(kind, '__name__', kind)
        if kind == 'CenterCrop':  # mmcv: crop_size (w, h)
            size = _hw(t['crop_size'], 'wh')
        elif kind in ('RandomCrop', 'EfficientNetCenterCrop'):
            size = _hw(t['crop_size'], 'hw')  # mmpretrain: (h, w)
        elif kind in ('RandomResizedCrop', 'EfficientNetRandomCrop'):
            size = _hw(t['scale'], 'hw')
        elif kind == 'Resize':  # mmcv: scale (w, h) or scale_factor
            factor = t.get('scale_factor')
            if t.get('scale') is not None:
                size = _hw(t['scale'], 'wh')
            elif size is not None and factor is not None:
                fw, fh = (factor, factor) if isinstance(
                    factor, (int, float)) else factor
                size = int(size[0] * fh + .5), int(size[1] * fw + .5)
        elif kind == 'ResizeEdge':
            edge, scale = t.get('edge', 'short'), t['scale']
            if size is None:
                continue  # a crop usually follows and sets it
            h, w = size
            by_h = {'height': True, 'width': False, 'short': h <= w,
                    'long': h > w}[edge]
            size = ((scale, int(w * scale / h + .5)) if by_h else
                    (int(h * scale / w + .5), scale))
    return size


def input_size_from_config(cfg) -> Tuple[Tuple[int, int], str]:
    """(H, W) of the test images of a config, and where it comes from.

    The test dataloader's dataset (else the val one's; wrappers such as
    LongTailDataset are unwrapped): its pipeline applied to the dataset's
    native image size.

    Args:
        cfg (Config): The full config.

    Returns:
        tuple: ((H, W), a short description of the source).

    Raises:
        ValueError: If neither dataloader gives a size; pass ``--shape``.
    """
    for key in ('test_dataloader', 'val_dataloader'):
        dataset = (cfg.get(key) or {}).get('dataset')
        while isinstance(dataset, dict) and ('dataset' in dataset
                                             or 'datasets' in dataset):
            dataset = dataset.get('dataset') or dataset['datasets'][0]
        if not isinstance(dataset, dict):
            continue
        native = native_size(dataset.get('type'))
        size = pipeline_size(dataset.get('pipeline') or [], native)
        if size is not None:
            name = getattr(dataset.get('type'), '__name__',
                           dataset.get('type'))
            how = ('native size' if size == native else 'pipeline')
            return size, f'{key}: {name}, {how}'
    raise ValueError(
        'cannot tell the input size from the config (no test or val '
        'pipeline that crops or resizes, and no dataset of known image '
        'size): pass --shape H [W]')


def _params(module):
    return sum(p.numel() for p in module.parameters())


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.shape is None:
        try:
            size, source = input_size_from_config(cfg)
        except ValueError as e:
            raise SystemExit(f'get_flops.py: {e}')
        input_shape = (3, ) + size
    elif len(args.shape) == 1:
        input_shape = (3, args.shape[0], args.shape[0])
        source = '--shape'
    elif len(args.shape) == 2:
        input_shape = (3, ) + tuple(args.shape)
        source = '--shape'
    else:
        raise ValueError('invalid input shape')
    model = MODELS.build(cfg.model)
    model.eval()
    if args.backbone_only:
        model.forward = model.extract_feat
    backbone = getattr(model, 'backbone', None)
    results = model_complexity(model, input_shape, args.show_table)
    fusion = getattr(backbone, 'fusion_layers', None)
    fusion_flops = None
    if fusion is not None and len(fusion):
        fusion_flops = macs_by_module(
            model, input_shape).get('backbone.fusion_layers')

    if args.show_table:
        print(results['out_table'])
    split_line = '=' * 40
    lines = [
        split_line, f'Config: {args.config}',
        f'Input shape: {input_shape} ({source})',
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
