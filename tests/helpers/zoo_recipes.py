# Copyright (c) shike-mm contributors. All rights reserved.
"""The training recipes of the public code the zoo rows cite, transcribed
from that code (never from the configs): torchvision transforms as the
reference builds them, normalisation, batch size, optimizer and the LR of
every epoch.

Sources (file and what was read):
- RIDE: github.com/frank-xwang/RIDE-LongTailRecognition,
  data_loader/cifar_data_loaders.py (ImbalanceCIFAR100DataLoader),
  data_loader/imagenet_lt_data_loaders.py, configs/config_imbalance_
  cifar100_ride.json, configs/config_imagenet_lt_resnet50_ride.json,
  configs/config_imagenet_lt_resnext50_ride.json, train.py (CustomLR).
- LDAM-DRW: github.com/kaidic/LDAM-DRW, cifar_train.py (transform_train,
  argument defaults, adjust_learning_rate).
- Balanced softmax: github.com/jiawei-ren/BalancedMetaSoftmax-
  Classification, data/ImbalanceCIFAR.py, config/CIFAR100_LT/
  balanced_softmax_imba200.yaml, run_networks.py, utils.py
  (CosineAnnealingLRWarmup).
- SHIKE: github.com/jinyan-06/SHIKE (CIFAR-100-LT: crop, flip,
  CIFAR10Policy, Cutout(1, 16), the CIFAR mean / std below).
"""
import math

from torchvision import transforms as T

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Transforms of the reference repositories that torchvision lacks, by name
# and the arguments the reference passes.
AUTO_AUGMENT = ('CIFAR10Policy', )
CUTOUT_16 = ('Cutout', 1, 16)  # n_holes, length


def ride_cifar_lr(epoch):
    """RIDE train.py CustomLR: x0.01 at 160, again at 180, warm-up 5."""
    factor = 0.01 * 0.01 if epoch >= 180 else 0.01 if epoch >= 160 else 1
    if epoch < 5:
        factor *= (1 + epoch) / 5
    return 0.1 * factor


def ride_imagenet_lr(epoch):
    """RIDE CustomLR with step1 60, step2 80, gamma 0.1, warm-up 5."""
    factor = 0.01 if epoch >= 80 else 0.1 if epoch >= 60 else 1
    if epoch < 5:
        factor *= (1 + epoch) / 5
    return 0.1 * factor


def ldam_drw_lr(epoch):
    """LDAM-DRW cifar_train.py adjust_learning_rate (lr 0.1)."""
    epoch = epoch + 1
    if epoch <= 5:
        return 0.1 * epoch / 5
    if epoch > 180:
        return 0.1 * 0.0001
    if epoch > 160:
        return 0.1 * 0.01
    return 0.1


def balms_cifar100_lt_r100_lr(epoch):
    """CosineAnnealingLRWarmup(base_lr 0.05, warmup_lr 0.1) stepped once
    before each epoch (last_epoch = epoch + 1), with the epochs the
    reference derives for CIFAR-100-LT IF100: 22 batches of 512, so
    ceil(13000 / 22) = 591 epochs and ceil(800 / 22) = 37 warm-up ones."""
    last_epoch, warmup, total = epoch + 1, 37, 591
    if last_epoch < warmup:
        return (0.1 - 0.05) / (warmup - 1) * (last_epoch - 1) + 0.05
    return 0.1 * (1 + math.cos(math.pi * (last_epoch - warmup) /
                               (total - warmup))) / 2


CIFAR_TEST = []  # ToTensor + Normalize only

RIDE_CIFAR = dict(
    source='github.com/frank-xwang/RIDE-LongTailRecognition',
    train=[T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(),
           T.RandomRotation(15)],
    test=CIFAR_TEST, mean=CIFAR_MEAN, std=CIFAR_STD, batch=128, epochs=200,
    optimizer=dict(lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True),
    lr=ride_cifar_lr)

RIDE_IMAGENET_LT = dict(
    source='github.com/frank-xwang/RIDE-LongTailRecognition',
    train=[T.RandomResizedCrop(224), T.RandomHorizontalFlip(),
           T.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4,
                         hue=0)],
    test=[T.Resize(256), T.CenterCrop(224)], mean=IMAGENET_MEAN,
    std=IMAGENET_STD, batch=256, epochs=100,
    optimizer=dict(lr=0.1, momentum=0.9, weight_decay=2e-4, nesterov=True),
    lr=ride_imagenet_lr)

LDAM_DRW_CIFAR = dict(
    source='github.com/kaidic/LDAM-DRW',
    train=[T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()],
    test=CIFAR_TEST, mean=CIFAR_MEAN, std=CIFAR_STD, batch=128, epochs=200,
    optimizer=dict(lr=0.1, momentum=0.9, weight_decay=2e-4, nesterov=False),
    lr=ldam_drw_lr)

BALMS_CIFAR = dict(
    source='github.com/jiawei-ren/BalancedMetaSoftmax-Classification',
    train=[T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(),
           AUTO_AUGMENT, CUTOUT_16],
    test=CIFAR_TEST, mean=CIFAR_MEAN, std=CIFAR_STD, batch=512, epochs=591,
    optimizer=dict(lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=False),
    lr=balms_cifar100_lt_r100_lr)


def cosine_200e_lr(epoch):
    """The balanced softmax optimizer at the 200-epoch, batch-128 budget
    of the other baselines: warm-up over 5 epochs, cosine to epoch 200."""
    if epoch < 5:
        return 0.1 * (epoch + 1) / 5
    return 0.1 * (1 + math.cos(math.pi * (epoch - 4) / 196)) / 2


BALMS_CIFAR_200E = dict(BALMS_CIFAR, batch=128, epochs=200,
                        lr=cosine_200e_lr)

# SHIKE's CIFAR augmentation, the `_shike-aug_` configs' shared recipe;
# their schedule stays their method's.
SHIKE_CIFAR_AUG = [T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(),
                   AUTO_AUGMENT, CUTOUT_16]


def with_shike_aug(recipe):
    return dict(recipe, train=SHIKE_CIFAR_AUG,
                source='github.com/jinyan-06/SHIKE')


# Every RIDE and baseline config on CIFAR-100-LT and ImageNet-LT, and the
# recipe of the code its zoo row cites.
RECIPES = {
    'configs/ride/ride_r32-3e_cifar100-lt-r100.py': RIDE_CIFAR,
    'configs/ride/ride_r32-4e_cifar100-lt-r100.py': RIDE_CIFAR,
    'configs/ride/ride_r32-3e-router_cifar100-lt-r100.py': RIDE_CIFAR,
    'configs/ride/ride_r32-3e_shike-aug_cifar100-lt-r100.py':
    with_shike_aug(RIDE_CIFAR),
    'configs/ride/ride_r50-3e_imagenet-lt.py': RIDE_IMAGENET_LT,
    'configs/ride/ride_rx50-3e_imagenet-lt.py': RIDE_IMAGENET_LT,
    'configs/baselines/bsce_r32_cifar100-lt-r100.py': BALMS_CIFAR,
    'configs/baselines/bsce_r32_1xb128-200e_cifar100-lt-r100.py':
    BALMS_CIFAR_200E,
}
for _method in ('ce', 'focal', 'la', 'posthoc-la', 'ldam-drw', 'crt'):
    RECIPES[f'configs/baselines/{_method}_r32_cifar100-lt-r100.py'] = \
        LDAM_DRW_CIFAR
    RECIPES[f'configs/baselines/{_method}_r32_shike-aug_cifar100-lt-r100.py'] \
        = with_shike_aug(LDAM_DRW_CIFAR)
