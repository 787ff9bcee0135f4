# Copyright (c) shike-mm contributors. All rights reserved.
"""Fixtures shared by every tier of the suite (the tier markers are set in
the repository's root ``conftest.py``)."""
import sys

import pytest
import torch

from tests.helpers.cifar_runs import write_tiny_cifar10
from tests.helpers.commands import REPO_ROOT
from tests.helpers.inprocess_tools import run_train
# fixtures defined beside the helpers they use, shared by several tiers
from tests.helpers.loss_inputs import logits  # noqa: F401
from tests.helpers.zoo_counters import counter  # noqa: F401
from tests.helpers.inference_run import trained  # noqa: F401
from tests.helpers.tiny_image_folder import write_image_folder
from tests.helpers.tiny_runs import TINY_CONFIG, tiny_data_options


def pytest_configure(config):
    """Tests compile with Inductor in this process and in the tools they
    start: its cache folder is the running instruction set's, so a suite
    run with the ISA capped never reuses kernels cached without the cap
    (shike_mm/utils/inductor_cache.py)."""
    from shike_mm.utils.inductor_cache import key_inductor_cache_by_isa
    key_inductor_cache_by_isa()


@pytest.fixture(autouse=True)
def _single_thread():
    """Run every in-process test with one intra-op thread.

    The tests use tiny tensors; on a small, busy machine (or beside another
    test worker) OpenMP threads spinning against each other made them up to
    10x slower. Tools started as processes get ``OMP_NUM_THREADS=1`` from
    ``tests.helpers.commands.run_command``.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def python():
    return sys.executable


@pytest.fixture(scope='session')
def tiny_root(tmp_path_factory):
    """An image folder of the tiny config's data (train / val / test)."""
    return write_image_folder(tmp_path_factory.mktemp('tiny'))


@pytest.fixture(scope='session')
def tiny_run(tmp_path_factory, tiny_root):
    """Work dir of a 1-epoch run of the tiny config (epoch_1.pth), trained
    by ``tools/train.py`` in this process with one intra-op thread."""
    work = tmp_path_factory.mktemp('tiny_run')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = run_train([TINY_CONFIG, '--work-dir', work, '--cfg-options',
                         *tiny_data_options(tiny_root),
                         'train_cfg.max_epochs=1'])
    finally:
        torch.set_num_threads(threads)
    if run.exit_code != 0:
        pytest.fail(f'training the tiny config failed: {run!r}')
    return work


@pytest.fixture(scope='session')
def cifar_root(tmp_path_factory):
    """A tiny generated CIFAR-10 (``write_tiny_cifar10``)."""
    return write_tiny_cifar10(tmp_path_factory.mktemp('cifar10'))
