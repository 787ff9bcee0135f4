# Copyright (c) shike-mm contributors. All rights reserved.
"""tools/compare.py without training: several configs and seeds, the run
key (reuse of finished runs, retraining when the config changes), the
table's means and spreads, and the --epochs guard."""
import importlib.util
import json
import re
import statistics

import pytest

from tests.helpers.commands import REPO_ROOT

CONFIGS = [
    'configs/baselines/ce_r32_fashion-mnist-lt-r100-1k_20e.py',
    'configs/baselines/la_r32_fashion-mnist-lt-r100-1k_20e.py',
]


@pytest.fixture(scope='module')
def compare():
    spec = importlib.util.spec_from_file_location(
        'compare_tool', REPO_ROOT / 'tools/compare.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeTrainer:
    """Writes a scalars log as tools/train.py would; the accuracy depends on
    the config and the seed so that means and spreads can be checked."""

    def __init__(self):
        self.calls = []

    def __call__(self, config_path, work_dir, cfg_options):
        text = config_path.read_text()
        seed = int(re.search(r"seed=(\d+)", text).group(1))
        base = 60.0 if 'LogitAdjustLoss' in text else 50.0
        self.calls.append((config_path, seed))
        run = work_dir / '20250101_000000' / 'vis_data'
        run.mkdir(parents=True, exist_ok=True)
        record = {'accuracy/top1': base + seed, 'accuracy/many': 80.0,
                  'accuracy/medium': 40.0 + 2 * seed, 'accuracy/few': 10.0,
                  'step': 20}
        (run / 'scalars.json').write_text(json.dumps(record) + '\n')
        return 1.5


def _options(fm_root):
    return ['--cfg-options',
            f'train_dataloader.dataset.dataset.data_root={fm_root}']


@pytest.fixture(scope='module')
def fm_root(tmp_path_factory):
    from tests.helpers.generators import write_fashion_mnist_idx
    return write_fashion_mnist_idx(
        str(tmp_path_factory.mktemp('fm')), per_class=100, test_per_class=1)


def test_seeds_keys_reuse_and_table(compare, tmp_path, fm_root):
    fake = FakeTrainer()
    out = tmp_path / 'table.md'
    argv = [*CONFIGS, '--work-root', str(tmp_path / 'runs'), '--seeds', '0',
            '1', '--out', str(out), *_options(fm_root)]
    compare.main(argv, train_fn=fake)
    assert len(fake.calls) == 4
    # every run trains its own resolved config, with the seed set
    for path, seed in fake.calls:
        assert path.name == 'config.py'
        assert path.parent.name.startswith(f'seed{seed}-')
    table = out.read_text()
    ce = re.search(r'\| \[ce_r32_fashion-mnist-lt-r100-1k_20e\]\(configs/'
                   r'baselines/[^)]+\) \| (.+?) \| (.+?) \| (.+?) \| (.+?) '
                   r'\| ([0-9,]+) \| ([0-9.]+) \|', table)
    assert ce, table
    spread = statistics.stdev([50.0, 51.0])
    assert ce.group(1) == f'50.50 ± {spread:.2f}'
    assert ce.group(2) == '80.00 ± 0.00'
    assert ce.group(3) == f'41.00 ± {statistics.stdev([40.0, 42.0]):.2f}'
    assert ce.group(5) == '466,906' and ce.group(6) == '1.50'
    assert '| [la_r32_fashion-mnist-lt-r100-1k_20e]' in table
    assert '60.50 ± ' in table
    assert 'seeds 0, 1 (mean ± sample std over the seeds)' in table
    assert '20 epochs, batch 128, 242 training images' in table
    assert 'Commit `' in table
    assert 'produced by `python tools/compare.py ' + CONFIGS[0] in table

    # Same code, configs, seeds and budget: nothing is trained again.
    compare.main(argv, train_fn=fake)
    assert len(fake.calls) == 4
    assert out.read_text().split('Commit')[0] == table.split('Commit')[0]

    # A changed resolved config is a different run.
    compare.main(argv + ['optim_wrapper.optimizer.lr=0.1'], train_fn=fake)
    assert len(fake.calls) == 8


def test_single_seed_and_errors(compare, tmp_path, fm_root):
    fake = FakeTrainer()
    out = tmp_path / 'table.md'
    compare.main([CONFIGS[0], '--work-root', str(tmp_path), '--out',
                  str(out), *_options(fm_root)], train_fn=fake)
    table = out.read_text()
    assert '| 50.00 | 80.00 | 40.00 | 10.00 | 466,906 | 1.50 |' in table
    assert '242 training images, seed 0. Commit' in table
    with pytest.raises(SystemExit):
        compare.main(['configs/baselines/nope.py'], train_fn=fake)


def test_epochs_needs_rescale_schedule(compare, tmp_path, fm_root,
                                       monkeypatch):
    try:
        import shike_mm.engine.stages  # noqa: F401
    except ImportError:
        with pytest.raises(SystemExit, match='rescale_schedule'):
            compare.main([CONFIGS[0], '--work-root', str(tmp_path),
                          '--epochs', '60', *_options(fm_root)],
                         train_fn=FakeTrainer())
    else:
        fake = FakeTrainer()
        compare.main([CONFIGS[0], '--work-root', str(tmp_path), '--epochs',
                      '60', '--out', str(tmp_path / 't.md'),
                      *_options(fm_root)], train_fn=fake)
        assert 'max_epochs=60' in fake.calls[0][0].read_text()
        assert '60 epochs' in (tmp_path / 't.md').read_text()
