# Copyright (c) shike-mm contributors. All rights reserved.
"""The worked example of docs/adding_a_method.md runs as printed: its loss
matches the effective-number formula, switches on at ``start_epoch``,
trains a small model, and its config builds a model carrying it."""
import math
import re

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

from tests.conftest import REPO_ROOT

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
