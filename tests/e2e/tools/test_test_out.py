# Copyright (c) shike-mm contributors. All rights reserved.
"""``tools/test.py --out``: one dict per test image with torch tensors
(``pred_score``, ``pred_label``, ``gt_label``), as mmengine's DumpResults
writes, but without a copy of the whole batch's scores in every prediction
(the 101 MB for 10,000 Fashion-MNIST images of issue 19)."""
import pickle

import torch

from tests.helpers.commands import REPO_ROOT, check_command
from tests.helpers.generators import write_fashion_mnist_idx

QUICKSTART = 'configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py'
BYTES_PER_PREDICTION = 200  # for 10 classes


def test_test_py_out_on_the_quickstart_config(tmp_path, python):
    """1,000 predictions of a random-weight SHIKE model (3 experts), batch
    128, through tools/test.py --out."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    root = write_fashion_mnist_idx(str(tmp_path / 'fm'), per_class=1,
                                   test_per_class=100)
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(REPO_ROOT / QUICKSTART)).model)
    # as ClassCountsHook leaves a trained model and its checkpoint
    counts = [int(100 * 0.01**(c / 9)) for c in range(10)]
    for module in model.modules():
        if hasattr(module, 'set_class_counts'):
            module.set_class_counts(counts)
    ckpt = tmp_path / 'random.pth'
    torch.save({'state_dict': model.state_dict(),
                'meta': dict(class_counts=counts)}, ckpt)
    out = tmp_path / 'preds.pkl'
    proc = check_command([
        python, 'tools/test.py', QUICKSTART, ckpt, '--work-dir',
        tmp_path / 'work', '--out', out, '--cfg-options',
        f'test_dataloader.dataset.data_root={root}',
        'test_dataloader.num_workers=0'])
    assert f'predictions written to {out}' in proc.stdout
    assert out.stat().st_size < BYTES_PER_PREDICTION * 1000

    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 1000
    assert sorted(p['sample_idx'] for p in preds) == list(range(1000))
    for p in preds:
        assert p['pred_score'].shape == (10, )
        assert p['pred_label'].shape == p['gt_label'].shape == (1, )
        assert int(p['pred_label']) == int(p['pred_score'].argmax())
        assert 'expert_logits' not in p
