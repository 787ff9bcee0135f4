# Balanced softmax at the quickstart budget; everything else as the CE
# config (the quickstart has one schedule for every single-stage method).
_base_ = ['./ce_r32_fashion-mnist-lt-r100-1k_20e.py']

model = dict(head=dict(loss=dict(type='BalancedSoftmaxLoss', _delete_=True)))
