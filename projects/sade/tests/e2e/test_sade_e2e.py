# Copyright (c) shike-mm contributors. All rights reserved.
"""The README's train / test / aggregate commands, run as written on tiny
Fashion-MNIST-LT data (a few epochs, a 200-image test set)."""
import json
import os
import os.path as osp
import re
import shlex
import subprocess
import sys

import pytest

from projects.sade.tests.sade_test_utils import CONFIGS, PROJECT, REPO_ROOT


CONFIG = osp.join(CONFIGS, 'sade_r32-3e_fashion-mnist-lt-r100-1k_20e.py')
DEBIAN_ROOT = '/usr/share/datasets/fashion-mnist'
EPOCHS = 4


def readme_commands():
    """The ``PYTHONPATH=. python ...`` lines of the README's first command
    block, as argument lists (``$CONFIG`` left in place)."""
    with open(osp.join(PROJECT, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    block = re.search(r'## Train, test, aggregate.*?```bash\n(.*?)```', text,
                      re.S).group(1)
    return [
        shlex.split(line)[1:] for line in block.splitlines()
        if line.startswith('PYTHONPATH=. python ')
    ]


def run(args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO_ROOT] + [p for p in [os.environ.get('PYTHONPATH')] if p])
    proc = subprocess.run([sys.executable] + args[1:], cwd=REPO_ROOT,
                          env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)
    if proc.returncode:
        pytest.fail(f'{" ".join(args)} failed:\n{proc.stdout[-6000:]}')
    return proc.stdout


def data_root(tmp_path_factory):
    if osp.isfile(osp.join(DEBIAN_ROOT, 'train-images-idx3-ubyte.gz')):
        return DEBIAN_ROOT
    from tests.helpers.generators import write_fashion_mnist_idx
    return write_fashion_mnist_idx(
        str(tmp_path_factory.mktemp('fm')), per_class=100, test_per_class=20)


def test_readme_commands_on_tiny_data(tmp_path, tmp_path_factory):
    commands = readme_commands()
    tools = [c[1] for c in commands]
    assert tools == ['tools/train.py', 'tools/test.py',
                     'projects/sade/tools/test_time_aggregate.py',
                     'tools/test.py']
    config = CONFIG
    root = data_root(tmp_path_factory)
    work = str(tmp_path / 'sade_fm')
    test_data = [
        f'test_dataloader.dataset.data_root={root}',
        'test_dataloader.num_workers=0', 'test_dataloader.dataset.indices=200'
    ]
    extra = {
        0: ['--epochs', str(EPOCHS), '--no-validate', '--cfg-options',
            f'train_dataloader.dataset.dataset.data_root={root}',
            'train_dataloader.dataset.max_per_class=100',
            'train_dataloader.num_workers=0'] + test_data,
        1: ['--cfg-options'] + test_data,
        2: ['--epochs', '1', '--distributions', 'forward50', 'uniform',
            'backward50', '--cfg-options'] + test_data,
        3: ['--cfg-options'] + test_data,
    }

    def substitute(arg):
        if arg == '$CONFIG':
            return config
        arg = arg.replace('work_dirs/sade_fm', work)
        return arg.replace('epoch_20.pth', f'epoch_{EPOCHS}.pth')

    outputs = []
    for i, command in enumerate(commands):
        args = [substitute(a) for a in command]
        outputs.append(run(args + extra[i]))

    assert 'loss_diverse' in outputs[0]
    report = json.load(
        open(osp.join(work, 'aggregated', 'test_time_aggregation.json')))
    assert list(report['distributions']) == [
        'forward50', 'uniform', 'backward50'
    ]
    plain_test = report['plain_test_metrics']
    for name, entry in report['distributions'].items():
        # plain = the mean of the experts' logits, as tools/test.py scores
        assert entry['plain']['top1'] == pytest.approx(
            plain_test[f'shifted/{name}/top1'])
        assert entry['epochs'] == 1
        assert sum(entry['weights']) == pytest.approx(1.0, abs=1e-6)
        assert os.path.isfile(
            osp.join(work, 'aggregated', f'aggregated_{name}.pth'))
    assert 'aggregated' in outputs[2] and 'backward50' in outputs[2]
    # the same figures as a metrics file, as tools/test.py --metrics-out
    # writes them
    flat = json.load(
        open(osp.join(work, 'aggregated', 'aggregated_metrics.json')))
    assert flat == {
        f'shifted/{name}/{group}': value
        for name, entry in report['distributions'].items()
        for group, value in entry['aggregated'].items()
    }
    import torch
    ckpt = torch.load(
        osp.join(work, 'aggregated', 'aggregated_backward50.pth'),
        map_location='cpu', weights_only=True)
    learned = torch.softmax(ckpt['state_dict']['head.fusion.weight'], 0)
    assert learned.tolist() == pytest.approx(
        report['distributions']['backward50']['weights'], abs=1e-7)
    assert ckpt['meta']['test_time_aggregation']['distribution'] == \
        'backward50'

    # tools/test.py on the aggregated checkpoint predicts with its weights
    top1 = re.search(r'shifted/backward50/top1: ([0-9.]+)', outputs[3])
    assert top1 is not None
    assert float(top1.group(1)) == pytest.approx(
        report['distributions']['backward50']['aggregated']['top1'],
        abs=1e-3)
