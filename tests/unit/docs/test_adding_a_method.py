# Copyright (c) shike-mm contributors. All rights reserved.
"""The worked example of docs/adding_a_method.md runs as printed: its loss
matches the effective-number formula, switches on at ``start_epoch``,
trains a small model, and its config builds a model carrying it."""
import math
import re

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmpretrain.registry import MODELS

from tests.helpers.commands import REPO_ROOT

PAGE = REPO_ROOT / 'docs' / 'adding_a_method.md'


def code_blocks():
    return re.findall(r'```python\n(.*?)```', PAGE.read_text(), re.S)


@pytest.fixture(scope='module')
def loss_type():
    namespace = {}
    exec(compile(code_blocks()[0], str(PAGE), 'exec'), namespace)
    yield namespace['ClassBalancedCELoss']
    MODELS._module_dict.pop('ClassBalancedCELoss')


def test_the_loss_implements_the_protocols(loss_type):
    """The default runtime's hooks find the loss by these classes."""
    from shike_mm.protocols import ClassCountsConsumer, EpochAware
    from shike_mm.models.losses import loss_key
    loss = loss_type()
    assert isinstance(loss, ClassCountsConsumer)
    assert isinstance(loss, EpochAware)
    assert loss_key(loss) == 'loss_cb'


def test_weights_follow_the_effective_number(loss_type):
    counts = [100, 10, 1]
    loss = loss_type(beta=0.9, start_epoch=2)
    loss.set_class_counts(counts)
    raw = [(1 - 0.9) / (1 - 0.9**n) for n in counts]
    expected = [w * 3 / sum(raw) for w in raw]
    assert loss.class_weight.tolist() == pytest.approx(expected)

    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    label = torch.tensor([0, 2])
    nll = [-math.log(math.e**2 / (math.e**2 + 2)),
           -math.log(1 / (math.e + 2))]
    loss.set_epoch(1)  # before start_epoch: plain CE
    assert loss(logits, label).item() == pytest.approx(sum(nll) / 2)
    loss.set_epoch(2)  # weighted CE: sum w_y * nll / sum w_y
    weighted = (expected[0] * nll[0] + expected[2] * nll[1]) / (
        expected[0] + expected[2])
    assert loss(logits, label).item() == pytest.approx(weighted)


def test_the_loss_trains_and_needs_counts(loss_type):
    loss = loss_type(start_epoch=0)
    with pytest.raises(RuntimeError, match='no class counts'):
        loss(torch.zeros(2, 3), torch.tensor([0, 1]))
    loss.set_class_counts([50, 5, 1])
    loss.set_epoch(0)
    torch.manual_seed(0)
    x, y = torch.randn(64, 8), torch.randint(0, 3, (64, ))
    model = torch.nn.Linear(8, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    values = []
    for _ in range(20):
        value = loss(model(x), y)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        values.append(value.item())
    assert values[-1] < 0.8 * values[0]


def test_the_config_builds_a_model_with_the_loss(loss_type, tmp_path):
    text = code_blocks()[1].replace(
        "'../baselines/", repr(str(REPO_ROOT / 'configs/baselines'))[:-1] +
        '/')
    path = tmp_path / 'cb_config.py'
    path.write_text(text)
    cfg = Config.fromfile(str(path))
    assert cfg.model.head.loss == dict(type='ClassBalancedCELoss',
                                       start_epoch=16)
    model = MODELS.build(cfg.model)
    assert type(model.head.loss_module).__name__ == 'ClassBalancedCELoss'


@pytest.fixture(scope='module')
def multi_expert_types():
    """The fusion rule and the mode of section 4, registered as printed."""
    namespace = {}
    exec(compile(code_blocks()[2], str(PAGE), 'exec'), namespace)
    yield namespace['ProbabilityMeanFusion'], namespace['BalancedFinetuneMode']
    for name in ('ProbabilityMeanFusion', 'BalancedFinetuneMode'):
        MODELS._module_dict.pop(name)


def test_the_fusion_rule_is_the_mean_probability(multi_expert_types):
    from shike_mm.protocols import FusionRule
    fusion_type, _ = multi_expert_types
    fusion = fusion_type()
    assert isinstance(fusion, FusionRule)
    logits = torch.tensor([[[2.0, 0.0, -1.0]], [[0.0, 1.0, 0.0]]])
    probs = [[math.exp(v) for v in row] for row in ([2.0, 0.0, -1.0],
                                                    [0.0, 1.0, 0.0])]
    probs = [[v / sum(row) for v in row] for row in probs]
    expected = [math.log((a + b) / 2) for a, b in zip(*probs)]
    assert fusion(logits)[0].tolist() == pytest.approx(expected)


def _multi_expert_model(tmp_path):
    text = code_blocks()[3].replace(
        "'../shike/", repr(str(REPO_ROOT / 'configs/shike'))[:-1] + '/')
    path = tmp_path / 'me_config.py'
    path.write_text(text)
    cfg = Config.fromfile(str(path))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


def test_the_multi_expert_config(multi_expert_types, tmp_path):
    """The config builds a head with the new fusion and mode; the mode's
    loss is balanced softmax on detached features of the stage-1
    classifiers; predictions are the mean probability."""
    from mmpretrain.structures import DataSample

    from shike_mm.protocols import ClassCountsConsumer, StagedHead
    fusion_type, mode_type = multi_expert_types
    cfg, model = _multi_expert_model(tmp_path)
    head = model.head
    assert isinstance(head.fusion, fusion_type)
    assert isinstance(head.modes['balanced_finetune'], mode_type)
    assert head.available_modes == ('experts', 'balanced_finetune')
    [stage] = cfg.custom_hooks[0]['stages']
    assert stage['head_mode'] in head.available_modes
    assert 'head.balanced_finetune_flag' in model.state_dict()

    # the hooks' contract: every ClassCountsConsumer submodule gets counts
    counts = [1000, 599, 359, 215, 129, 77, 46, 27, 16, 10]
    consumers = [m for m in model.modules()
                 if isinstance(m, ClassCountsConsumer)]
    assert head.modes['balanced_finetune'].loss_module in consumers
    for module in consumers:
        module.set_class_counts(counts)

    assert isinstance(head, StagedHead)
    head.set_mode(stage['head_mode'])
    assert head.mode == 'balanced_finetune'
    torch.manual_seed(1)
    inputs = torch.randn(4, 3, 28, 28)
    labels = [0, 3, 9, 5]
    samples = [DataSample().set_gt_label(y) for y in labels]
    losses = model.loss(inputs, samples)
    assert list(losses) == ['loss_bsce']

    feats = model.extract_feat(inputs)
    z = torch.stack([c(f) for c, f in zip(head.classifiers, feats)])
    prior = torch.tensor(counts, dtype=torch.float64)
    log_prior = (prior / prior.sum()).log().float()
    target = torch.tensor(labels)
    expected = sum(F.cross_entropy(z[m] + log_prior, target)
                   for m in range(z.size(0)))
    torch.testing.assert_close(losses['loss_bsce'], expected)

    model.zero_grad()
    losses['loss_bsce'].backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert all(p.grad is not None for p in head.classifiers.parameters())

    model.eval()
    with torch.no_grad():
        scores = torch.stack(
            [s.pred_score for s in model.predict(inputs)])
        z = torch.stack([c(f) for c, f in zip(head.classifiers,
                                              model.extract_feat(inputs))])
    torch.testing.assert_close(scores, z.softmax(-1).mean(0))
