# Copyright (c) shike-mm contributors. All rights reserved.
"""The protocols of shike_mm/protocols.py: who implements them (the table
of docs/design.md), that the hooks find consumers by ``isinstance`` only,
and the import layering they allow."""
import ast
import types

import pytest
import torch.nn as nn
from mmengine.model import BaseModel

from shike_mm import protocols
from shike_mm.engine.hooks import EpochAwareHook
from shike_mm.engine.hooks.class_counts_hook import deliver_class_counts
from shike_mm.evaluation.metrics import (CalibrationError, LongTailAccuracy,
                                         ShiftedDistributionAccuracy)
from shike_mm.models import (BalancedSoftmaxLoss, DKTLoss, ExpertsMode,
                             LDAMLoss, LogitAdjustLoss, MeanFusion,
                             MultiExpertFusionHead, MutualKLLoss,
                             PostHocAdjustedHead, RetrainMode, RIDELoss,
                             RouterMode)
from shike_mm.structures import ClassCounts
from tests.helpers.commands import REPO_ROOT

IMPLEMENTERS = {
    protocols.ClassCountsConsumer: [
        BalancedSoftmaxLoss, LogitAdjustLoss, LDAMLoss, RIDELoss,
        PostHocAdjustedHead, LongTailAccuracy, ShiftedDistributionAccuracy,
        CalibrationError
    ],
    protocols.EpochAware: [LDAMLoss, RIDELoss],
    protocols.MultiExpertLoss: [DKTLoss, MutualKLLoss, RIDELoss],
    protocols.NamedLoss: [
        BalancedSoftmaxLoss, LogitAdjustLoss, DKTLoss, MutualKLLoss, RIDELoss
    ],
    protocols.LogitScaleConsumer: [DKTLoss],
    protocols.ExpertCostsConsumer: [LongTailAccuracy],
    protocols.StagedHead: [MultiExpertFusionHead],
    protocols.FusionRule: [MeanFusion],
    protocols.PredictedLogitsHead: [MultiExpertFusionHead,
                                    PostHocAdjustedHead],
    protocols.ExpertLogitsHead: [MultiExpertFusionHead],
    protocols.HeadMode: [ExpertsMode, RetrainMode, RouterMode],
}


@pytest.mark.parametrize('protocol', list(IMPLEMENTERS),
                         ids=lambda p: p.__name__)
def test_implementers_and_the_design_page(protocol):
    for cls in IMPLEMENTERS[protocol]:
        assert issubclass(cls, protocol), (cls, protocol)
    # The protocols table of docs/design.md names the same classes.
    page = (REPO_ROOT / 'docs' / 'design.md').read_text()
    row = next(line for line in page.splitlines()
               if line.startswith(f'| `{protocol.__name__}`'))
    for cls in IMPLEMENTERS[protocol]:
        assert f'`{cls.__name__}`' in row, (cls, row)


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            yield '.' * node.level + (node.module or '')
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_import_layering():
    """protocols.py is a leaf; models/utils imports neither the losses nor
    the heads (the losses import models/utils, not the reverse)."""
    assert not [
        name for name in _imports(REPO_ROOT / 'shike_mm' / 'protocols.py')
        if name.startswith('.') or name.startswith('shike_mm')
    ]
    for path in (REPO_ROOT / 'shike_mm' / 'models' / 'utils').glob('*.py'):
        for name in _imports(path):
            assert 'losses' not in name and 'heads' not in name, (path, name)


class _DuckTyped(nn.Module):
    """Has the methods but not the protocols: the hooks leave it alone."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def set_class_counts(self, counts):
        self.calls.append(('counts', counts))

    def set_epoch(self, epoch):
        self.calls.append(('epoch', epoch))

    def set_expert_costs(self, *args):
        self.calls.append(('costs', args))


class _Model(BaseModel):

    def __init__(self):
        super().__init__()
        self.loss = RIDELoss(drw_epoch=2)
        self.other = _DuckTyped()

    def forward(self, *args, **kwargs):
        pass


def _runner(model, epoch=0):
    logger = types.SimpleNamespace(info=lambda msg: None)
    return types.SimpleNamespace(model=model, epoch=epoch, logger=logger)


def test_hooks_find_consumers_by_isinstance():
    model = _Model()
    calls = []
    set_ldam = model.loss.ldam.set_class_counts
    model.loss.ldam.set_class_counts = lambda c: (calls.append(c),
                                                  set_ldam(c))
    receivers = deliver_class_counts(model, ClassCounts.of([5, 3, 1]))
    # the inner LDAM loss is fed by its parent RIDELoss, once
    assert receivers == ['model.loss']
    assert calls == [ClassCounts((5, 3, 1))]
    assert model.loss.has_class_counts and model.other.calls == []

    hook = EpochAwareHook()
    for epoch, reweighting in ((1, False), (2, True), (0, False)):
        runner = _runner(model, epoch)
        hook.before_train(runner) if epoch == 1 else \
            hook.before_train_epoch(runner)
        assert model.loss.ldam.reweighting is reweighting
    assert hook.receivers == ['model.loss']
    assert model.other.calls == []
