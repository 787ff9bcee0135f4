# Copyright (c) shike-mm contributors. All rights reserved.
"""One real ``tools/train.py`` run builds its training set exactly once:
the class counts, the class-aware sampler, the losses and the metrics all
read the dataset the training loop trains on."""
import json
import textwrap

from tests.helpers.commands import REPO_ROOT, check_command, load_checkpoint
from tests.helpers.tiny_image_folder import write_image_folder

TINY_CONFIG = REPO_ROOT / 'tests/data/configs/tiny_resnet_cifar.py'
COUNTS = [12, 8, 4, 2]

# Runs tools/train.py in this process after wrapping mmengine's dataset
# construction and loading with counters keyed by the image folder.
COUNTING_RUNNER = textwrap.dedent('''
    import atexit, collections, json, runpy, sys
    from mmengine.dataset import BaseDataset

    inits, loads = collections.Counter(), collections.Counter()
    init, full_init = BaseDataset.__init__, BaseDataset.full_init

    def split(dataset):
        prefix = getattr(dataset, 'data_prefix', None) or {}
        return str(prefix.get('img_path', '')).rstrip('/').rsplit('/', 1)[-1]

    def counted_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        inits[split(self)] += 1

    def counted_full_init(self):
        if not self._fully_initialized:
            loads[split(self)] += 1
        full_init(self)

    BaseDataset.__init__ = counted_init
    BaseDataset.full_init = counted_full_init
    atexit.register(lambda: print('BUILDS ' + json.dumps(
        dict(inits=inits, loads=loads))))
    sys.argv = ['tools/train.py'] + sys.argv[1:]
    runpy.run_path('tools/train.py', run_name='__main__')
''')


def test_one_train_run_builds_the_training_set_once(tmp_path, python):
    root = write_image_folder(tmp_path / 'data')
    for c, n in enumerate(COUNTS):  # a long tail: 12, 8, 4, 2 images
        for i in range(n, 12):
            (root / 'train' / f'class{c}' / f'{i}.png').unlink()
    config = tmp_path / 'counted.py'
    config.write_text(textwrap.dedent(f'''
        _base_ = ['{TINY_CONFIG}']
        model = dict(head=dict(
            loss=dict(_delete_=True, type='BalancedSoftmaxLoss')))
        train_dataloader = dict(sampler=dict(
            _delete_=True, type='ClassAwareSampler', seed=0))
        val_evaluator = dict(_delete_=True, type='LongTailAccuracy',
                             topk=(1, ), many_shot_thr=10, few_shot_thr=3)
        train_cfg = dict(max_epochs=1)
    '''))
    runner = tmp_path / 'counting_train.py'
    runner.write_text(COUNTING_RUNNER)
    work = tmp_path / 'work'
    proc = check_command([
        python, runner, config, '--work-dir', work, '--cfg-options',
        *[f'{k}_dataloader.dataset.data_root={root}'
          for k in ('train', 'val', 'test')]])
    builds = json.loads(proc.stdout.rsplit('BUILDS ', 1)[1].splitlines()[0])
    assert builds['inits']['train'] == 1, builds
    assert builds['loads']['train'] == 1, builds
    assert builds['inits']['val'] == 1, builds

    # The counts of that one build reach the loss and the metric once
    # each, and are stored once: in meta, not in the loss's buffer.
    assert ('ClassCountsHook: 4 classes, 26 training images (max 12, min 2) '
            'from the training set, handed to model.head.loss_module.'
            ) in proc.stdout
    assert proc.stdout.count('handed to val_evaluator.LongTailAccuracy') == 1
    checkpoint = load_checkpoint(work / 'epoch_1.pth')
    assert checkpoint['meta']['class_counts'] == COUNTS
    assert not [k for k in checkpoint['state_dict'] if 'log_prior' in k]
