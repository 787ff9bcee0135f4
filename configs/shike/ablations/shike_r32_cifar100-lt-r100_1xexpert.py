# Paper Table 5 on CIFAR-100-LT (the paper's Table 5 is on ImageNet-LT):
# SHIKE with 1 expert (fusing shared stage 1). With a single expert there is
# no peer to distil from: mutual KL is off; DKT's teacher equals the expert.
_base_ = ['../shike_r32_cifar100-lt-r100.py']

model = dict(
    backbone=dict(num_experts=1),
    head=dict(mutual_loss=None))
