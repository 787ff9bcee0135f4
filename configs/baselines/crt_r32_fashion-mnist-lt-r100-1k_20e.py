# cRT at the quickstart budget: 16 epochs of CE, then 4 epochs in which
# only the re-initialised classifier trains on class-balanced batches (the
# split of the SHIKE quickstart).
_base_ = [
    '../_base_/models/resnet32_cifar.py',
    '../_base_/datasets/fashion-mnist-lt-r100.py',
    '../_base_/schedules/quick_20e_cosine_crt_4e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=10))
# the quickstart data: head class capped at 1,000 images (2,478 in all)
train_dataloader = dict(dataset=dict(max_per_class=1000))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='AtomicCheckpointHook', interval=4, max_keep_ckpts=1,
                    save_best='accuracy/top1', rule='greater'))
