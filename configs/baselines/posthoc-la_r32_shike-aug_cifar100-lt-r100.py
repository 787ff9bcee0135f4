# posthoc-la_r32_cifar100-lt-r100.py trained with SHIKE's augmentation
# (AutoAugment + Cutout, configs/_base_/datasets/cifar100-lt-r100.py)
# instead of the LDAM-DRW reference code's crop + flip: the like-for-like
# comparison with the SHIKE configs. Everything else as that config.
_base_ = ['./posthoc-la_r32_cifar100-lt-r100.py']

train_dataloader = dict(
    dataset=dict(dataset=dict(pipeline={{_base_.shike_aug_pipeline}})))
