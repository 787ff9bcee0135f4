# Copyright (c) shike-mm contributors. All rights reserved.
"""The real SHIKE CIFAR-10-LT config on a tiny generated CIFAR-10 (real
pickle format), compressed to 6 epochs: what the two-stage end-to-end,
stage-recipe and kill-and-resume tests share."""
import json

from tests.helpers.commands import REPO_ROOT
from tests.helpers.generators import write_cifar

CONFIG = REPO_ROOT / 'configs/shike/shike_r32_cifar10-lt-r100.py'
BN_STATS = ('running_mean', 'running_var', 'num_batches_tracked')
RETRAIN = 'head.retrain_classifiers.'


# The 200-epoch schedule compressed to 6 epochs by tools/train.py --epochs:
# stage 1 is epochs 1-3, classifier retraining epochs 4-6 (1-based).
EPOCHS = ['--epochs', '6']


def tiny_options(root):
    return [
        f'train_dataloader.dataset.dataset.data_root={root}',
        'train_dataloader.dataset.dataset.verify_md5=False',
        # 40 -> 4 images per class, 159 in all
        'train_dataloader.dataset.imbalance_factor=10',
        f'val_dataloader.dataset.data_root={root}',
        'val_dataloader.dataset.verify_md5=False',
        f'test_dataloader.dataset.data_root={root}',
        'test_dataloader.dataset.verify_md5=False',
        'train_dataloader.batch_size=32', 'train_dataloader.num_workers=0',
        'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
        'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        # the config compiles its step; compiling costs minutes here, and
        # the compiled step is compared with this one in
        # tests/unit/models/test_fast_equivalence.py
        'compile=False',
    ]


def logged_losses(work_dir):
    """{epoch: set of loss keys} from the json scalars log."""
    keys = {}
    for line in next(work_dir.glob('*/vis_data/scalars.json')).open():
        record = json.loads(line)
        if 'epoch' in record and 'loss' in record:
            keys.setdefault(record['epoch'], set()).update(
                k for k in record if k.startswith('loss_'))
    return keys


def write_tiny_cifar10(root):
    """40 training and 6 test images per class of CIFAR-10 under ``root``
    (the config's long tail keeps 4 .. 40 of them)."""
    write_cifar(str(root), num_classes=10, per_class=40, test_per_class=6,
                variant='cifar10')
    return root
