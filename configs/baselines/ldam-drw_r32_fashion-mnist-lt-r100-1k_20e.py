# LDAM-DRW at the quickstart budget: LDAM (max margin 0.5, s = 30) on an
# unscaled cosine classifier, deferred re-weighting from epoch 16 (the
# 160 / 200 of the CIFAR schedule); everything else as the CE config.
_base_ = ['./ce_r32_fashion-mnist-lt-r100-1k_20e.py']

model = dict(
    head=dict(
        type='CosineClsHead',
        scale=1.0,
        loss=dict(type='LDAMLoss', max_m=0.5, s=30, drw_epoch=16,
                  _delete_=True)))
