# Cross-entropy at the CPU quickstart budget: Fashion-MNIST-LT (IF 100,
# head class capped at 1,000 images), ResNet-32 + linear classifier, 20
# epochs with one warm-up + cosine. Same data, augmentation, batch, seed and
# optimizer as configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py.
_base_ = [
    '../_base_/models/resnet32_cifar.py',
    '../_base_/datasets/fashion-mnist-lt-r100.py',
    '../_base_/schedules/quick_20e_cosine.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=10))
# the quickstart data: head class capped at 1,000 images (2,478 in all)
train_dataloader = dict(dataset=dict(max_per_class=1000))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='AtomicCheckpointHook', interval=4, max_keep_ckpts=1,
                    save_best='accuracy/top1', rule='greater'))
