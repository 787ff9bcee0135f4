# Copyright (c) shike-mm contributors. All rights reserved.
"""Classify one's own images with a trained model.

Prints one line per image: the predicted class, its index and its score
(softmax probability). The model is a config file or a model name of the
model index (``mmpretrain.list_models('shike*')``); mmpretrain's
:class:`~mmpretrain.apis.ImageClassificationInferencer` runs the config's
test pipeline and the model. Images are decoded in the channel order the
model was trained with (RGB for the CIFAR and Fashion-MNIST configs, whose
data preprocessor does not convert; BGR, converted by the preprocessor,
for the ImageNet-scale ones), and should look like the training data (28 x
28 grey for Fashion-MNIST, 32 x 32 for CIFAR; the ImageNet-scale test
pipeline resizes and crops).

Examples::

    python tools/inference.py \\
        configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py \\
        work_dirs/quickstart/epoch_20.pth demo/
    python tools/inference.py shike_r32_fashion-mnist-lt-r100-1k_20e \\
        work_dirs/quickstart/epoch_20.pth a.png b.png --topk 3
"""
import argparse
from pathlib import Path
from typing import List

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff',
                  '.webp')
# Loading is done here (the inferencer gets arrays), so the config's own
# loading transforms are dropped from its test pipeline.
LOADING_TRANSFORMS = ('LoadImageFromFile', 'LoadImageFromFileBounded')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog='python tools/inference.py',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('model', help='config file or model name')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        'images', nargs='+',
        help='image files and/or folders (searched recursively for '
        f'{", ".join(IMAGE_SUFFIXES)})')
    parser.add_argument('--topk', type=int, default=1,
                        help='print the k most likely classes per image')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--device', default='cpu',
                        help='e.g. cpu, cuda:0 (default: cpu)')
    return parser.parse_args(argv)


def collect_images(paths) -> List[Path]:
    """Image files among ``paths``; folders are searched recursively and
    sorted by path.

    Raises:
        FileNotFoundError: A path does not exist or a folder holds no
            image.
    """
    images = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob('*')
                           if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise FileNotFoundError(
                    f'{path}: no image ({", ".join(IMAGE_SUFFIXES)}) in '
                    'this folder')
            images.extend(found)
        elif path.is_file():
            images.append(path)
        else:
            raise FileNotFoundError(f'{path}: no such file or folder')
    return images


def load_config(model: str):
    """The config of a config file or of a model name."""
    from mmengine.config import Config
    from mmpretrain.apis import ModelHub
    if model.endswith('.py'):
        return Config.fromfile(model)
    return ModelHub.get(model).config


def build_inferencer(model: str, checkpoint: str, device: str = 'cpu'):
    """The inferencer and the channel order its images are decoded in."""
    import mmpretrain.utils.progress
    from mmpretrain.apis import ImageClassificationInferencer

    # the output is one line per image: mmpretrain's live progress bar
    # would be drawn into it (and into a pipe) without a newline
    mmpretrain.utils.progress.disable_progress_bar = True
    cfg = load_config(model)
    pipeline = cfg.test_dataloader.dataset.pipeline
    cfg.test_dataloader.dataset.pipeline = [
        t for t in pipeline if t.get('type') not in LOADING_TRANSFORMS
    ]
    converts = (cfg.get('data_preprocessor') or {}).get('to_rgb', False)
    inferencer = ImageClassificationInferencer(
        model=cfg, pretrained=checkpoint, device=device)
    return inferencer, ('bgr' if converts else 'rgb')


def main(argv=None):
    args = parse_args(argv)
    import mmcv

    import shike_mm  # noqa: F401  (registers shike-mm's modules)
    images = collect_images(args.images)
    inferencer, order = build_inferencer(args.model, args.checkpoint,
                                         args.device)
    arrays = [mmcv.imread(str(p), channel_order=order) for p in images]
    results = inferencer(arrays, batch_size=args.batch_size)
    classes = inferencer.classes
    width = max(len(str(p)) for p in images)
    for path, result in zip(images, results):
        scores = result['pred_scores']
        ranked = scores.argsort()[::-1][:args.topk]
        preds = []
        for label in ranked:
            name = classes[label] if classes is not None else str(label)
            preds.append(f'{name} ({label}) {scores[label]:.4f}')
        print(f'{str(path):<{width}}  ' + '  '.join(preds))


if __name__ == '__main__':
    main()
