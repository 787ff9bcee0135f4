# Copyright (c) shike-mm contributors. All rights reserved.
"""`import shike_mm` registers every component into mmpretrain's registries,
configs inherit mmpretrain's bases, and checkpoints load with
``weights_only=True`` while arbitrary pickled code is still refused."""
import io
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config

from tests.helpers.commands import REPO_ROOT


def test_import_registers_components():
    import shike_mm  # noqa: F401
    from mmpretrain import registry
    expected = {
        registry.MODELS: ['SHIKEResNet', 'MultiExpertResNet',
                          'MultiExpertFusionHead', 'DKTLoss', 'MutualKLLoss',
                          'BalancedSoftmaxLoss', 'CosineClassifier'],
        registry.DATASETS: ['LongTailDataset', 'ImageNetLT',
                            'INaturalist2018', 'PlacesLT', 'FashionMNISTIDX',
                            'OfflineCIFAR10', 'OfflineCIFAR100'],
        registry.DATA_SAMPLERS: ['ClassAwareSampler'],
        registry.TRANSFORMS: ['CIFAR10AutoAugment', 'RandomCutout'],
        registry.HOOKS: ['ClassCountsHook', 'StageSwitchHook',
                         'EpochSeedHook'],
        registry.METRICS: ['LongTailAccuracy', 'CompactDumpResults',
                           'ShiftedDistributionAccuracy', 'CalibrationError'],
        registry.PARAM_SCHEDULERS: ['RestartLinearLR'],
        registry.RUNNERS: ['DeviceAwareRunner'],
        registry.MODEL_WRAPPERS: ['DeviceAwareDistributedDataParallel'],
    }
    for reg, names in expected.items():
        for name in names:
            assert name in reg.module_dict, (reg.name, name)


def test_config_inherits_mmpretrain_base_and_mixes_models(tmp_path):
    import shike_mm  # noqa: F401
    from mmpretrain.registry import MODELS
    config = tmp_path / 'mixed.py'
    runtime = str(REPO_ROOT / 'configs/_base_/default_runtime.py')
    config.write_text(
        f"_base_ = ['mmpretrain::_base_/models/resnet18_cifar.py',\n"
        f"          {runtime!r}]\n"
        "model = dict(head=dict(num_classes=7,\n"
        "             loss=dict(type='BalancedSoftmaxLoss', _delete_=True,\n"
        "                       class_counts=[5, 4, 3, 3, 2, 1, 1])))\n")
    cfg = Config.fromfile(str(config))
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.custom_imports.imports == ['shike_mm']
    assert cfg.runner_type == 'DeviceAwareRunner'
    model = MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == 'ResNet_CIFAR'
    assert type(model.head.loss_module).__name__ == 'BalancedSoftmaxLoss'


def test_mmengine_checkpoint_loads_weights_only(tmp_path):
    import shike_mm  # noqa: F401
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('ckpt-test')
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_scalar('train/lr', 0.1)
    hub.update_info('epoch', np.int64(3))
    path = tmp_path / 'ckpt.pth'
    torch.save({'message_hub': hub.state_dict(),
                'meta': {'seed': np.int64(0), 'arr': np.arange(3)}}, path)
    loaded = torch.load(path, weights_only=True)
    assert loaded['message_hub']['log_scalars']['train/loss'].mean() == 0.5
    assert loaded['meta']['arr'].tolist() == [0, 1, 2]


class _Evil:

    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_arbitrary_code_is_still_refused(tmp_path):
    import shike_mm  # noqa: F401
    buffer = io.BytesIO()
    torch.save({'x': _Evil()}, buffer)
    buffer.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(buffer, weights_only=True)
