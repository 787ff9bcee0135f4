# The cross-entropy baseline with balanced softmax (Ren et al., 2020):
# CE(z + log n_c, y), n_c handed to the loss by ClassCountsHook from the
# training set. Everything else as the CE baseline.
_base_ = ['./resnet28-ce_fashion-mnist-lt-r100-1k_20e.py']

model = dict(head=dict(loss=dict(type='BalancedSoftmaxLoss', _delete_=True)))
