# Classifier re-training (cRT, Kang et al., ICLR 2020) on CIFAR-100-LT (IF
# 100): 200 epochs of the CE baseline, then 10 epochs in which only the
# re-initialised linear classifier trains, on class-balanced batches. The
# cRT paper reports no CIFAR run: stage 1 is the CE config's recipe (the
# LDAM-DRW reference code's crop + flip, batch 128).
_base_ = [
    '../_base_/models/resnet32_cifar.py',
    '../_base_/datasets/cifar100-lt-r100_crop-flip.py',
    '../_base_/schedules/cifar_lt_200e_step_crt_10e.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    # keep the best top-1 and the last epoch
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='accuracy/top1', rule='greater'))
