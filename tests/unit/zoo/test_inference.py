# Copyright (c) shike-mm contributors. All rights reserved.
"""tools/inference.py on a folder of PNGs with a briefly trained quickstart
checkpoint: each image's printed class and score equal the softmax of the
model's logits computed here by hand (the config's normalisation on the
RGB image); the model name works as well as the config, and so does
mmpretrain's ``inference_model`` by name. The cases that start a process or
compile are in tests/integration/zoo/test_inference.py."""

import cv2
import pytest

from tests.helpers.commands import REPO_ROOT
from tests.helpers.inference_run import (CONFIG, NAME, check_rows, parse,
                                         reference_scores)


def test_inference_on_a_folder_with_the_config(trained, capsys):
    import importlib.util
    checkpoint, folder, model = trained
    spec = importlib.util.spec_from_file_location(
        '_tool_inference', REPO_ROOT / 'tools' / 'inference.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main([str(REPO_ROOT / CONFIG), str(checkpoint), str(folder)])
    check_rows(parse(capsys.readouterr().out), model, folder)


def test_inference_model_by_name(trained):
    import mmpretrain
    checkpoint, folder, model = trained
    byname = mmpretrain.get_model(NAME, pretrained=str(checkpoint))
    path = sorted(folder.rglob('*.png'))[0]
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    result = mmpretrain.inference_model(byname, rgb)
    _, scores = reference_scores(model, folder)
    assert result['pred_label'] == int(scores[0].argmax())
    assert result['pred_score'] == pytest.approx(float(scores[0].max()),
                                                 abs=1e-5)
