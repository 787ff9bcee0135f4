# Cross-entropy on CIFAR-100-LT (IF 100): ResNet-32 + linear classifier,
# with the recipe of the LDAM-DRW reference code (github.com/kaidic/LDAM-DRW,
# cifar_train.py), where the CE number comes from: random crop (padding 4)
# + flip, batch 128, the 200-epoch step schedule (wd 2e-4).
_base_ = [
    '../_base_/models/resnet32_cifar.py',
    '../_base_/datasets/cifar100-lt-r100_crop-flip.py',
    '../_base_/schedules/cifar_lt_200e_step.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    # keep the best top-1 and the last epoch
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='accuracy/top1', rule='greater'))
