# Copyright (c) shike-mm contributors. All rights reserved.
import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    """Run the model tests with one intra-op thread.

    The tests use tiny tensors; on a small, busy machine OpenMP threads
    spinning against each other made them up to 10x slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
