# RIDE (3 experts) on CIFAR-100-LT trained with SHIKE's augmentation
# (AutoAugment + Cutout, configs/_base_/datasets/cifar100-lt-r100.py)
# instead of RIDE's own crop + flip + rotation: the like-for-like
# comparison with the SHIKE configs. Everything else as
# ride_r32-3e_cifar100-lt-r100.py.
_base_ = ['./ride_r32-3e_cifar100-lt-r100.py']

train_dataloader = dict(
    dataset=dict(dataset=dict(pipeline={{_base_.shike_aug_pipeline}})))
