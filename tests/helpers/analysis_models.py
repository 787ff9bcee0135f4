# Copyright (c) shike-mm contributors. All rights reserved.
"""Tiny models, data and hand-written references for the analysis-tool
tests: synthetic logits with known structure, and random-weight checkpoints
of a SHIKE ResNet-20 with 3 experts and an mmpretrain ResNet +
LinearClsHead on generated Fashion-MNIST-format data, whose logits are
recomputed here classifier by classifier from the state dict."""
import math

import numpy as np
import torch

from shike_mm.analysis import lt_analysis as lt
from tests.helpers.commands import REPO_ROOT
from tests.helpers.generators import write_fashion_mnist_idx

# LongTailDataset(max_per_class=150, imbalance_factor=100), 10 classes:
# 150, 89, 53, 32, 19, 11, 6, 4, 2, 1 -> 1 many, 3 medium, 6 few-shot.
TINY_COUNTS = [int(150 * 0.01**(c / 9)) for c in range(10)]
TEST_PER_CLASS = 4


def parse_table(text, title):
    """The rows (lists of cell strings) of the Markdown table printed after
    the line starting with ``title``; row 0 is the header."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    rows = []
    for line in lines[start + 1:]:
        if not line.startswith('|'):
            break
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if not set(''.join(cells)) <= set('-:'):
            rows.append(cells)
    return rows


def as_float(cell):
    return math.nan if cell == 'n/a' else float(cell.replace(',', ''))


# ----------------------------------------------------------------------
# independent references
# ----------------------------------------------------------------------
def ref_per_class(logits, labels, num_classes):
    out = []
    for c in range(num_classes):
        idx = [i for i in range(len(labels)) if labels[i] == c]
        if not idx:
            out.append(math.nan)
            continue
        right = sum(1 for i in idx if int(np.argmax(logits[i])) == c)
        out.append(100.0 * right / len(idx))
    return out


def ref_group(count):
    return 'many' if count > 100 else ('few' if count < 20 else 'medium')


def ref_hardest_negative(logits, label):
    z = [float(v) for v in logits]
    top = max(z)
    e = [math.exp(v - top) for v in z]
    s = sum(e)
    return max(e[c] / s for c in range(len(z)) if c != label)


def synthetic_model(name='A', num_experts=3, seed=0, experts=True):
    """6 classes (2 many, 2 medium, 2 few), 8 test images per class, logits
    that favour the label with expert- and class-dependent strength, so the
    experts differ and some classes tie."""
    rng = np.random.default_rng(seed)
    counts = [300, 150, 60, 30, 10, 5]
    labels = np.repeat(np.arange(6), 8)
    rng.shuffle(labels)
    z = rng.normal(size=(num_experts, len(labels), 6)).astype(np.float32)
    for m in range(num_experts):
        for i, y in enumerate(labels):
            z[m, i, y] += 0.6 * ((m + y) % 3)
    # class 5: every expert right on every image -> a 3-way tie at 100 %
    z[:, labels == 5, 5] += 50.
    return lt.Logits(
        experts=z if experts else None, ensemble=z.mean(0), labels=labels,
        class_counts=counts, name=name)


# ----------------------------------------------------------------------
# fixtures: tiny data, configs and checkpoints
# ----------------------------------------------------------------------
DATA = '''
train_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='LongTailDataset', imbalance_factor=100,
                 max_per_class=150, profile='exp', selection='first',
                 dataset=dict(type='FashionMNISTIDX', data_root=data_root,
                              split='train',
                              pipeline=[dict(type='PackInputs')])))
test_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='FashionMNISTIDX', data_root=data_root, split='test',
                 pipeline=[dict(type='PackInputs')]))
'''
PREPROCESSOR = ("data_preprocessor=dict(num_classes=10, mean=[72.94] * 3, "
                "std=[90.02] * 3, to_rgb=False)")
# as in the real configs, the SHIKE model's preprocessor is a top-level key
SHIKE_MODEL = f'''
model = dict(
    type='ImageClassifier',
    backbone=dict(type='SHIKEResNet', depth=20, num_experts=3),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='MultiExpertFusionHead', num_classes=10, in_channels=64,
              num_experts=3))
{PREPROCESSOR}
'''
BASELINE_MODEL = f'''
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, num_stages=3,
                  stem_channels=16, base_channels=16, out_indices=(2, ),
                  strides=(1, 2, 2), dilations=(1, 1, 1)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=64),
    {PREPROCESSOR})
'''


def write_config(path, root, model_text):
    runtime = REPO_ROOT / 'configs' / '_base_' / 'default_runtime.py'
    path.write_text(f"_base_ = ['{runtime}']\ndata_root = '{root}'\n" +
                    model_text + DATA)
    return path


def reference_logits(cfg_path, ckpt):
    """(experts (M, N, C) or None, model logits (N, C), labels) computed
    here: images one by one through the backbone and neck, then each
    classifier of the state dict applied by hand."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS, MODELS
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(cfg_path)
    model = MODELS.build(cfg.model).eval()
    state = torch.load(ckpt, map_location='cpu')['state_dict']
    model.load_state_dict(state)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    experts, single, labels = [], [], []
    with torch.no_grad():
        for i in range(len(dataset)):
            sample = dataset[i]
            x = sample['inputs'].float()[None]
            x = (x - 72.94) / 90.02
            feats = model.neck(model.backbone(x))
            if 'head.fc.weight' in state:
                w, b = state['head.fc.weight'], state['head.fc.bias']
                single.append((feats[-1] @ w.T + b)[0])
            else:
                assert bool(state['head.retraining_flag'])
                z = []
                for m, f in enumerate(feats):
                    w = state[f'head.retrain_classifiers.{m}.weight']
                    f = f / f.norm(dim=1, keepdim=True)
                    w = w / w.norm(dim=1, keepdim=True)
                    z.append((30.0 * f @ w.T)[0])
                experts.append(torch.stack(z))
            labels.append(int(sample['data_samples'].gt_label))
    if experts:
        e = torch.stack(experts, 1).numpy()
        return e, e.mean(0), np.array(labels)
    return None, torch.stack(single).numpy(), np.array(labels)


def tiny_checkpoints(tmp):
    """Configs and random-weight checkpoints of a SHIKE model (stage 2:
    retrain classifiers active, different from the stage-1 ones) and of a
    single-path baseline."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    root = write_fashion_mnist_idx(str(tmp / 'fm'), per_class=150,
                                   test_per_class=TEST_PER_CLASS)
    out = dict(root=tmp)
    init_default_scope('mmpretrain')
    for name, text in (('shike', SHIKE_MODEL), ('baseline', BASELINE_MODEL)):
        cfg_path = write_config(tmp / f'{name}.py', root, text)
        torch.manual_seed(1)
        model = MODELS.build(Config.fromfile(str(cfg_path)).model)
        if name == 'shike':
            model.head.set_mode('retrain')
        ckpt = tmp / f'{name}.pth'
        torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
        out[name] = (str(cfg_path), str(ckpt))
    return out
