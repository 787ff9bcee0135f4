# The CPU quickstart (README command 1): SHIKE (ResNet-32, 3 experts, DKF,
# DKT, mutual KL, then balanced-softmax classifier retraining) on
# Fashion-MNIST-LT, imbalance factor 100, head class capped at 1,000
# images: 1000, 599, 359, 215, 129, 77, 46, 27, 16, 10 per class (2,478 in
# all; 5 many-, 3 medium-, 2 few-shot classes with the usual > 100 / < 20
# thresholds). 16 + 4 epochs; evaluated on the full 10,000-image test set.
# About 10 minutes on 2 CPU cores.
_base_ = [
    '../_base_/models/shike_r32_cifar.py',
    '../_base_/datasets/fashion-mnist-lt-r100-1k.py',
    '../_base_/schedules/quick_20e.py',
    '../_base_/default_runtime.py',
]

# Grouped expert execution (opt-in, docs/performance.md) is kept here
# because the README's expected numbers (tools/quickstart_expected.json)
# were measured with it: the per-expert loop computes the same mathematics
# but rounds differently in float32, so its run ends on other digits.
model = dict(
    backbone=dict(grouped_experts=True), head=dict(num_classes=10))
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=4))
