# Paper Table 4, row 1 ("plain single model", 50.04 %): one ResNet-32 path,
# no DKF, CE only in stage 1, then the same decoupled balanced-softmax
# classifier retraining as every ablation row.
_base_ = ['../shike_r32_cifar100-lt-r100.py']

model = dict(
    backbone=dict(num_experts=1, fusion=None),
    head=dict(dkt_loss=None, mutual_loss=None))
