# Copyright (c) shike-mm contributors. All rights reserved.
"""2-process CPU DDP (gloo, batch 8 per rank) against 1 process with batch
16 on the SHIKE CIFAR-10 config, through tools/train.py and
tools/dist_train.sh: with every BN layer synchronised ('SyncBNAnyDevice')
the two runs follow the same loss trajectory; with per-rank BN (the
default) they do not.

Both runs see the same global batches (no shuffling, no augmentation:
rank r of 2 takes samples r, r + 2, ... of the 1-process batch), and the
model computes in float64 (``Float64ImageClassifier``, a test-only
subclass) so that float32 rounding, which SGD amplifies, does not hide the
comparison. DDP averages the gradients and each rank's loss is the mean
over its 8 samples, so the mean of the two ranks' losses is the 1-process
loss of the 16 samples."""
import re


from tests.helpers.commands import REPO_ROOT, check_command, free_port
from tests.helpers.generators import write_cifar


CONFIG = REPO_ROOT / 'configs/shike/shike_r32_cifar10-lt-r100.py'
GLOBAL_BATCH = 16
ITERS = 5  # 10 classes x 8 images, one epoch
SYNC_BN = 'model.backbone.norm_cfg.type=SyncBNAnyDevice'


def write_config(tmp_path, data_root):
    config = tmp_path / 'sync_bn_ddp.py'
    config.write_text(
        f'_base_ = [{str(CONFIG)!r}]\n'
        "custom_imports = dict(imports=['shike_mm', 'tests.data.test_hooks'],"
        ' allow_failed_imports=False)\n'
        "model = dict(type='Float64ImageClassifier')\n"
        "train_pipeline = [dict(type='PackInputs')]\n"
        'train_dataloader = dict(\n'
        '    num_workers=0, sampler=dict(shuffle=False),\n'
        '    dataset=dict(imbalance_factor=1, dataset=dict(\n'
        f'        data_root={str(data_root)!r}, verify_md5=False,\n'
        '        pipeline=train_pipeline)))\n'
        # stage 1 only: the stage hook (which does nothing before its
        # stage begins) would refuse a 1-epoch schedule, and without it
        # the schedulers need absolute epochs (the warm-up of epoch 0)
        "custom_hooks = [dict(type='IterLossReportHook')]\n"
        "param_scheduler = [dict(type='LinearLR', start_factor=1 / 6, "
        'end_factor=1.0, begin=0, end=6, by_epoch=True)]\n'
        'train_cfg = dict(max_epochs=1)\n'
        'compile = False\n')  # minutes of compilation for 5 steps
    return config


def losses(stdout, num_ranks):
    """[mean over the ranks of the loss of iteration i for i in 0..]"""
    by_iter = {}
    for rank, it, loss in re.findall(
            r'ITER_LOSS rank=(\d+) iter=(\d+) loss=(\S+)', stdout):
        by_iter.setdefault(int(it), {})[int(rank)] = float(loss)
    assert sorted(by_iter) == list(range(ITERS)), stdout[-3000:]
    assert all(len(v) == num_ranks for v in by_iter.values()), by_iter
    return [sum(by_iter[i].values()) / num_ranks for i in range(ITERS)]


def train(config, work_dir, nproc, *options, port=None):
    opts = ['--work-dir', work_dir, '--no-validate', '--cfg-options',
            f'train_dataloader.batch_size={GLOBAL_BATCH // nproc}', *options]
    if nproc == 1:
        return check_command(['python', 'tools/train.py', config, *opts])
    return check_command(['bash', 'tools/dist_train.sh', config, str(nproc),
                          *opts], env={'PORT': str(port)})


def test_sync_bn_ddp_matches_one_process(tmp_path):
    data_root = tmp_path / 'cifar10'
    write_cifar(str(data_root), num_classes=10,
                per_class=GLOBAL_BATCH * ITERS // 10, test_per_class=1,
                variant='cifar10')
    config = write_config(tmp_path, data_root)

    # One process: SyncBNAnyDevice is BatchNorm2d there.
    one = losses(train(config, tmp_path / 'one', 1, SYNC_BN).stdout, 1)
    synced_run = train(config, tmp_path / 'sync', 2, SYNC_BN, port=free_port())
    assert 'gloo' in synced_run.stdout
    synced = losses(synced_run.stdout, 2)
    per_rank = losses(
        train(config, tmp_path / 'per_rank', 2, port=free_port()).stdout, 2)

    sync_diff = [abs(a - b) for a, b in zip(one, synced)]
    rank_diff = [abs(a - b) for a, b in zip(one, per_rank)]
    print('1-process losses:', ' '.join(f'{v:.6f}' for v in one))
    print('|1 process - 2 processes|, synchronised BN:',
          ' '.join(f'{v:.1e}' for v in sync_diff))
    print('|1 process - 2 processes|, per-rank BN:',
          ' '.join(f'{v:.1e}' for v in rank_diff))
    assert max(sync_diff) < 1e-5, sync_diff
    # The training moved: the comparison is not of a constant.
    assert max(one) - min(one) > 1.0, one
    # Per-rank BN normalises with 8-sample statistics: already the first
    # forward differs.
    assert rank_diff[0] > 1e-3 and max(rank_diff) > 1e-1, rank_diff
