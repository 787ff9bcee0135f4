# Copyright (c) shike-mm contributors. All rights reserved.
"""The tiny trained quickstart model and image folder that the inference
tests share (the ``trained`` fixture), and the independent scores they are
checked against."""
import re

import cv2
import numpy as np
import pytest
import torch

from tests.helpers.commands import REPO_ROOT

NAME = 'shike_r32_fashion-mnist-lt-r100-1k_20e'


CONFIG = f'configs/shike/{NAME}.py'


LINE = re.compile(r'^(\S+)\s+(.+) \((\d+)\) (\d\.\d{4})$')


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """(checkpoint, image folder, model): 8 coloured 28x28 PNGs, and the
    quickstart model after 5 SGD steps on them."""
    import mmpretrain
    from mmengine.runner import save_checkpoint

    import shike_mm  # noqa: F401
    root = tmp_path_factory.mktemp('inference')
    folder = root / 'images'
    (folder / 'more').mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = []
    for i in range(8):
        img = rng.integers(0, 255, (28, 28, 3), dtype=np.uint8)
        img[..., i % 3] = 255  # not grey: the channel order matters
        sub = folder / 'more' if i >= 6 else folder
        cv2.imwrite(str(sub / f'{i}.png'), img)
        labels.append(i % 10)
    torch.manual_seed(0)
    model = mmpretrain.get_model(str(REPO_ROOT / CONFIG))
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    from mmpretrain.structures import DataSample
    images = load_rgb(sorted(folder.rglob('*.png')))
    samples = [DataSample().set_gt_label(lab) for lab in labels]
    for _ in range(5):
        data = model.data_preprocessor(
            dict(inputs=list(images), data_samples=samples), True)
        losses = model(**data, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    checkpoint = root / 'tiny.pth'
    save_checkpoint(
        dict(state_dict=model.state_dict(),
             meta=dict(dataset_meta=model._dataset_meta)),
        str(checkpoint))
    return checkpoint, folder, model


def load_rgb(paths):
    return [
        torch.from_numpy(
            cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)).permute(
                2, 0, 1) for p in paths
    ]


def reference_scores(model, folder):
    """Softmax of the logits, the normalisation written out here."""
    mean = torch.tensor([72.940] * 3).view(3, 1, 1)
    std = torch.tensor([90.021] * 3).view(3, 1, 1)
    paths = sorted(folder.rglob('*.png'))
    x = torch.stack([(img.float() - mean) / std for img in load_rgb(paths)])
    with torch.no_grad():
        return paths, model(x).softmax(-1)


def parse(output):
    rows = {}
    for line in output.splitlines():
        match = LINE.match(line.strip())
        if match:
            rows[match[1]] = (match[2], int(match[3]), float(match[4]))
    return rows


def check_rows(rows, model, folder):
    paths, scores = reference_scores(model, folder)
    assert set(rows) == {str(p) for p in paths}
    classes = model._dataset_meta["classes"]
    for path, expected in zip(paths, scores):
        name, label, score = rows[str(path)]
        assert label == int(expected.argmax())
        assert name == classes[label]
        assert score == pytest.approx(float(expected.max()), abs=6e-5)
    # the briefly trained model is not constant
    assert len({r[1] for r in rows.values()}) > 1 or \
        float(scores.max(-1).values.std()) > 0
