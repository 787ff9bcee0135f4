# Copyright (c) shike-mm contributors. All rights reserved.
"""``tools/test.py`` does not print a metric for a checkpoint it cannot
trust: non-finite weights, entries that cannot be copied into the model,
empty / truncated files, directories, malformed ``meta.class_counts``. The
cases that start a process or compile are in
tests/integration/reliability/test_garbage_checkpoints.py."""
import pytest
import torch


def test_strict_copy_failure_is_an_error(monkeypatch):
    """A copy that fails inside ``load_state_dict`` (here: a module that
    refuses its tensor) is an error naming the file, not a warning."""
    from types import SimpleNamespace

    from mmengine.config import Config
    from mmengine.logging import MMLogger

    import shike_mm.engine.checkpoint.loading as safety
    from shike_mm.engine.checkpoint.check import CheckpointError
    from shike_mm.engine.runners import DeviceAwareRunner

    class Refusing(torch.nn.Linear):

        def _load_from_state_dict(self, state_dict, prefix, *args):
            args[-1].append(f'While copying the parameter named '
                            f'"{prefix}weight": refused')

    model = Refusing(2, 2)
    checkpoint = {'state_dict': model.state_dict()}
    monkeypatch.setattr(safety, 'load_checkpoint_file',
                        lambda *args: checkpoint)
    # a test run: not resuming, no optimizer, so the weights must fit
    runner = SimpleNamespace(
        model=model, cfg=Config(dict(resume=False)), optim_wrapper=None,
        call_hook=lambda *args, **kwargs: None,
        logger=MMLogger.get_instance('strict-copy'))
    with pytest.raises(CheckpointError, match='(?s)ckpt.pth: tensors could '
                       'not be copied into the model:\n.*"weight": '
                       'refused'):
        DeviceAwareRunner.load_checkpoint(runner, 'ckpt.pth')


@pytest.mark.parametrize('counts, message', [
    ([0, 0, 0, 0], 'is all zeros'),
    ([5, 4, 3], 'has 3 entries but the model predicts 4 classes'),
    (['12', 'a', 3, 4], r"\[0\] is '12'; every entry must be a "
     'non-negative whole number'),
    ([12, -1, 3, 4], r'\[1\] is -1'),
    ([12, 2.5, 3, 4], r'\[1\] is 2.5'),
    (7, 'must be a list of per-class image counts, got a int'),
])
def test_class_counts_in_meta_are_validated(counts, message):
    from shike_mm.engine.hooks.class_counts_hook import checked_class_counts
    with pytest.raises(ValueError, match=f'x.pth: meta.class_counts{message}'
                       if message.startswith(r'\[') else
                       f'x.pth: meta.class_counts {message}'):
        checked_class_counts(counts, 4, 'x.pth')
    assert checked_class_counts([12, 0, 3.0, 4], 4, 'x.pth') == [12, 0, 3, 4]


def test_multistep_milestones_counter_is_plain_data():
    """mmengine's MultiStepLR stores its milestones as a Counter in the
    checkpoint's ``param_schedulers``: accepted (so ``load_from`` /
    ``--resume`` of a step-schedule run work), unless it carries
    attributes."""
    from collections import Counter

    from mmengine.optim.scheduler import MultiStepLR

    from shike_mm.engine.checkpoint.check import (CheckpointError,
                                                  check_checkpoint_structure)
    optimizer = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1)
    state = MultiStepLR(optimizer, milestones=[160, 180]).state_dict()
    assert type(state['milestones']) is Counter
    check_checkpoint_structure(
        {'state_dict': {}, 'param_schedulers': [state]}, 'x.pth')
    counter = Counter({160: 1})
    counter.__dict__['__deepcopy__'] = print
    with pytest.raises(CheckpointError, match=r"x.pth: checkpoint\['p'\] "
                       r"\(a Counter\) carries attributes \['__deepcopy__'\]"):
        check_checkpoint_structure({'p': counter}, 'x.pth')
