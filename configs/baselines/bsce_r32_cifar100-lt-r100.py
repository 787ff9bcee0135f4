# Balanced softmax (Ren et al., NeurIPS 2020), CE(z + log n, y), on
# CIFAR-100-LT (IF 100) with the recipe of its reference code
# (github.com/jiawei-ren/BalancedMetaSoftmax-Classification,
# config/CIFAR100_LT/balanced_softmax_imba200.yaml, data/ImbalanceCIFAR.py):
# RandomCrop(32, padding=4), flip, CIFAR-10 AutoAugment policy, Cutout(16)
# (the augmentation of cifar100-lt-r100.py), batch 512, 13,000 iterations
# (591 epochs) with a 37-epoch warm-up and a cosine
# (balms_cifar_13k-iter.py). The class counts come from ClassCountsHook.
_base_ = [
    '../_base_/models/resnet32_cifar.py',
    '../_base_/datasets/cifar100-lt-r100.py',
    '../_base_/schedules/balms_cifar_13k-iter.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(loss=dict(type='BalancedSoftmaxLoss', _delete_=True)))

train_dataloader = dict(batch_size=512)  # one GPU, as the reference

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    # keep the best top-1 and the last epoch
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='accuracy/top1', rule='greater'))
