# Copyright (c) shike-mm contributors. All rights reserved.
"""Save-and-load round trips and the refusal check of the checkpoint-safety
tests."""
import io
import pickle

import pytest
import torch


def roundtrip(obj):
    import shike_mm  # noqa: F401
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def refused(obj, match):
    with pytest.raises(pickle.UnpicklingError, match=match):
        roundtrip(obj)
