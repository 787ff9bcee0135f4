# Copyright (c) shike-mm contributors. All rights reserved.
import torch

from tests.helpers.head_inputs import _feats, _head, _samples


def test_mode_switches_compile_without_graph_breaks():
    """``torch.compile`` (``compile=True`` in a config) sees the mode as a
    Python bool: the head compiles as one graph (``fullgraph=True`` raises
    on a graph break, as reading the mode buffer used to cause) and a mode
    switch, or a checkpoint with another mode, is honoured by recompiling.
    Dynamo only (``backend='eager'``): no C++ compiler needed."""
    head = _head(retrain_loss=dict(type='BalancedSoftmaxLoss'))
    head.retrain_loss_module.set_class_counts([5, 4, 3, 2, 1])
    feats = _feats()
    for mode in ('experts', 'retrain'):
        head.set_mode(mode)
        report = torch._dynamo.explain(head.loss)(feats, _samples())
        assert report.graph_break_count == 0, report.break_reasons
    head.set_mode('experts')
    forward = torch.compile(head, backend='eager', fullgraph=True)
    loss = torch.compile(head.loss, backend='eager', fullgraph=True)
    stage1 = forward(feats)
    torch.testing.assert_close(stage1, head(feats))
    assert set(loss(feats, _samples())) == {
        'loss_ce', 'loss_dkt', 'loss_mutual'
    }
    head.set_mode('retrain')
    retrain = forward(feats)
    assert not torch.allclose(retrain, stage1)
    torch.testing.assert_close(retrain, head(feats))
    assert set(loss(feats, _samples())) == {'loss_bsce'}

    # loading a stage-1 checkpoint switches the compiled head back
    stage1_state = _head(
        retrain_loss=dict(type='BalancedSoftmaxLoss')).state_dict()
    stage1_state.update({
        k: v
        for k, v in head.state_dict().items() if k != 'retraining_flag'
    })
    head.load_state_dict(stage1_state)
    assert head.retraining is False
    torch.testing.assert_close(forward(feats), stage1)
