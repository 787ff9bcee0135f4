# SHIKE on CIFAR-100-LT (180 + 20 epochs as shike_r32_cifar100-lt-r100.py),
# then a RIDE-style router stage on SHIKE's experts: 5 epochs, only the
# router trains (class-balanced sampling, batch 512). Routed inference
# reports the mean number of experts used and the relative cost.
_base_ = [
    '../_base_/models/shike_r32_cifar.py',
    '../_base_/datasets/cifar100-lt-r100.py',
    '../_base_/schedules/shike_200e_router.py',
    '../_base_/default_runtime.py',
    '../_base_/compile.py',
]

model = dict(head=dict(num_classes=100, router=dict(
    type='ExpertRouter', top_k=30, pos_weight=100.0)))
