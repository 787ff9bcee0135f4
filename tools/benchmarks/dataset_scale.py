# Copyright (c) shike-mm contributors. All rights reserved.
"""Time the data path at iNaturalist 2018 scale.

Writes a list file shaped like ``iNaturalist18_train.txt`` (437,513 lines,
8,142 classes, long-tailed from 1,000 down to 2 images per class; paths
only, no image is written or decoded) and prints, for mmpretrain's own
list loading (``CustomDataset``) and for ``INaturalist2018``:

- the time to build the dataset (parse, validate, serialise),
- the time to read the class counts, the first and the second time
  (``get_class_counts``, what ``ClassCountsHook`` reads),
- the time to set up the ``ClassAwareSampler``,
- the peak resident memory of the process.

Each measurement runs in a fresh process. Figures only; nothing is
asserted. Usage::

    python tools/benchmarks/dataset_scale.py [--lines 437513]
        [--classes 8142] [--work-dir DIR]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

NUM_LINES = 437513
NUM_CLASSES = 8142


def write_list(path: str, num_lines: int, num_classes: int) -> None:
    """A long-tailed list: class c gets about n_max * r^(c / (C - 1))
    lines (n_max 1,000, smallest 2), scaled to ``num_lines`` in total."""
    import numpy as np
    ratio = np.power(2 / 1000, np.arange(num_classes) / (num_classes - 1))
    counts = np.maximum(1, np.floor(ratio / ratio.sum() * num_lines))
    counts = counts.astype(np.int64)
    counts[0] += num_lines - int(counts.sum())
    with open(path, 'w') as f:
        for label, n in enumerate(counts.tolist()):
            for i in range(n):
                f.write(f'train_val2018/{label}/{i:06d}.jpg {label}\n')


def peak_mib() -> float:
    """Peak resident set size of this process, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(kind: str, ann_file: str, num_classes: int) -> dict:
    """Build one dataset and time what the training run does with it."""
    import shike_mm  # noqa: F401  registers the datasets
    from mmpretrain.datasets import CustomDataset

    from shike_mm.datasets import (ClassAwareSampler, INaturalist2018,
                                   get_class_counts)
    classes = [str(i) for i in range(num_classes)]
    result = dict(kind=kind)
    start = time.perf_counter()
    if kind == 'mmpretrain':
        dataset = CustomDataset(
            ann_file=ann_file, data_root=os.path.dirname(ann_file),
            with_label=True, metainfo=dict(classes=classes))
    else:
        dataset = INaturalist2018(
            ann_file=ann_file, data_root=os.path.dirname(ann_file))
    result['build_s'] = time.perf_counter() - start
    result['samples'] = len(dataset)
    for name in ('counts_first_s', 'counts_again_s'):
        start = time.perf_counter()
        counts = get_class_counts(dataset)
        result[name] = time.perf_counter() - start
    result['classes'] = len(counts)
    start = time.perf_counter()
    ClassAwareSampler(dataset, seed=0)
    result['sampler_s'] = time.perf_counter() - start
    result['peak_mib'] = peak_mib()
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--lines', type=int, default=NUM_LINES)
    parser.add_argument('--classes', type=int, default=NUM_CLASSES)
    parser.add_argument('--work-dir', help='where the list file goes '
                        '(default: a temporary directory)')
    parser.add_argument('--measure', choices=['mmpretrain', 'shike-mm'],
                        help=argparse.SUPPRESS)
    parser.add_argument('--ann-file', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.ann_file,
                                 args.classes)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = args.work_dir or tmp
        os.makedirs(work_dir, exist_ok=True)
        ann_file = os.path.join(work_dir, 'iNaturalist18_train.txt')
        start = time.perf_counter()
        write_list(ann_file, args.lines, args.classes)
        print(f'list: {args.lines} lines, {args.classes} classes, written '
              f'in {time.perf_counter() - start:.1f} s')
        header = (f'{"dataset":<12}{"build s":>9}{"counts s":>10}'
                  f'{"again s":>9}{"sampler s":>11}{"peak MiB":>10}')
        print(header)
        for kind in ('mmpretrain', 'shike-mm'):
            proc = subprocess.run(
                [sys.executable, __file__, '--measure', kind, '--ann-file',
                 ann_file, '--classes', str(args.classes)],
                capture_output=True, text=True, check=True)
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f'{kind:<12}{r["build_s"]:>9.2f}{r["counts_first_s"]:>10.3f}'
                  f'{r["counts_again_s"]:>9.3f}{r["sampler_s"]:>11.3f}'
                  f'{r["peak_mib"]:>10.0f}')


if __name__ == '__main__':
    main()
