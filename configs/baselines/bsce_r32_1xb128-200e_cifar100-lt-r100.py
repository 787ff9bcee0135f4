# Balanced softmax (Ren et al., NeurIPS 2020), CE(z + log n, y), on
# CIFAR-100-LT (IF 100) at the 200-epoch, batch-128 budget of the other
# CIFAR baselines: the optimizer of its reference code (SGD momentum 0.9,
# wd 5e-4, peak lr 0.1, cosine) in cifar_lt_200e_cosine.py, the reference
# augmentation (AutoAugment + Cutout, as SHIKE's). The reference code's own
# schedule (batch 512, 591 epochs) is bsce_r32_cifar100-lt-r100.py.
_base_ = [
    '../_base_/models/resnet32_cifar.py',
    '../_base_/datasets/cifar100-lt-r100.py',
    '../_base_/schedules/cifar_lt_200e_cosine.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(loss=dict(type='BalancedSoftmaxLoss', _delete_=True)))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    # keep the best top-1 and the last epoch
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='accuracy/top1', rule='greater'))
