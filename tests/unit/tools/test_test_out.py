# Copyright (c) shike-mm contributors. All rights reserved.
"""``tools/test.py --out``: one dict per test image with torch tensors
(``pred_score``, ``pred_label``, ``gt_label``), as mmengine's DumpResults
writes, but without a copy of the whole batch's scores in every prediction
(the 101 MB for 10,000 Fashion-MNIST images of issue 19)."""
import pickle

import mmengine
import torch
from mmengine.evaluator import DumpResults, Evaluator

from shike_mm.evaluation import CompactDumpResults

BYTES_PER_PREDICTION = 200  # for 10 classes


def batch_predictions(batch=128, num_classes=10, start=0):
    """Predictions as the head hands them over: every ``pred_score`` a row
    of one (batch, C) tensor."""
    torch.manual_seed(start)
    scores = torch.rand(batch, num_classes).softmax(1)
    labels = scores.argmax(1, keepdim=True)
    return [dict(sample_idx=start + i, num_classes=num_classes,
                 pred_score=scores[i], pred_label=labels[i],
                 gt_label=torch.tensor([i % num_classes]))
            for i in range(batch)]


def test_compact_dump_is_small_and_loads_as_mmengine_dump(tmp_path):
    ours = tmp_path / 'ours.pkl'
    theirs = tmp_path / 'theirs.pkl'
    batches = [batch_predictions(start=s) for s in (0, 128, 256)]
    for metric, path in ((CompactDumpResults, ours), (DumpResults, theirs)):
        m = metric(out_file_path=str(path))
        for b in batches:
            m.process({}, b)
        m.compute_metrics(m.results)

    n = 3 * 128
    assert ours.stat().st_size < BYTES_PER_PREDICTION * n
    # why: mmengine's pickles each row with its batch's whole storage
    assert theirs.stat().st_size > 20 * ours.stat().st_size

    got, ref = mmengine.load(str(ours)), mmengine.load(str(theirs))
    assert len(got) == len(ref) == n
    for g, r in zip(got, ref):
        assert g.keys() == r.keys()
        for k, v in r.items():
            if isinstance(v, torch.Tensor):
                assert type(g[k]) is torch.Tensor and g[k].dtype == v.dtype
                assert torch.equal(g[k], v), k
            else:
                assert g[k] == v

    # mmpretrain's offline evaluation reads it (tools/analysis_tools/
    # eval_metric.py of mmpretrain)
    from mmpretrain.evaluation import Accuracy
    top1 = Evaluator(Accuracy()).offline_evaluate(got)['accuracy/top1']
    assert top1 == Evaluator(Accuracy()).offline_evaluate(ref)[
        'accuracy/top1']
    got[0]['pred_score'][0] = 1.  # writable like any tensor


def test_compact_dump_keeps_what_torch_cannot_share_with_numpy(tmp_path):
    from shike_mm.evaluation import compact_dumps
    data = dict(bf16=torch.ones(3, dtype=torch.bfloat16),
                grad=torch.ones(2, requires_grad=True),
                param=torch.nn.Parameter(torch.zeros(2)),
                scalar=torch.tensor(3.5), empty=torch.zeros(0, 4))
    back = pickle.loads(compact_dumps(data))
    for k, v in data.items():
        assert type(back[k]) is type(v) and back[k].dtype == v.dtype, k
        assert back[k].shape == v.shape and torch.equal(back[k], v), k
