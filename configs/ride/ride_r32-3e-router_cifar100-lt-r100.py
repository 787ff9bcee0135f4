# RIDE on CIFAR-100-LT with expert assignment: the 200 epochs of
# ride_r32-3e_cifar100-lt-r100.py, then 5 epochs training only the router
# (top-30 ensemble logits + a 16-unit feature branch per expert, one shared
# output layer), class-balanced sampling, batch 512. Test-time routing:
# a sample stops at the first expert whose router says no; the metric
# reports the mean number of experts used and the relative cost.
_base_ = [
    '../_base_/models/ride_r32_cifar.py',
    '../_base_/datasets/cifar100-lt-r100_ride-aug.py',
    '../_base_/schedules/ride_200e_router.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=100, router=dict(
    type='ExpertRouter', top_k=30, pos_weight=100.0)))
