# Copyright (c) shike-mm contributors. All rights reserved.
"""tools/inference.py on a folder of PNGs with a briefly trained quickstart
checkpoint: each image's printed class and score equal the softmax of the
model's logits computed here by hand (the config's normalisation on the
RGB image); the model name works as well as the config, and so does
mmpretrain's ``inference_model`` by name. Here the cases that start a
process or compile; the in-process ones are in
tests/unit/zoo/test_inference.py."""
import sys

from tests.helpers.commands import check_command
from tests.helpers.inference_run import NAME, check_rows, parse


def test_inference_by_model_name_from_the_command_line(trained):
    checkpoint, folder, model = trained
    out = check_command([
        sys.executable, 'tools/inference.py', NAME,
        str(checkpoint), str(folder)
    ])
    check_rows(parse(out.stdout), model, folder)
