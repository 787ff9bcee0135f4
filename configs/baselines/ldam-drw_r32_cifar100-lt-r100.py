# LDAM-DRW (Cao et al., NeurIPS 2019) on CIFAR-100-LT (IF 100): margins
# C / n_c^(1/4) (largest 0.5), logits scaled by s = 30, on an unscaled
# cosine classifier (the reference's NormedLinear); deferred re-weighting
# (class-balanced weights, beta 0.9999) from epoch 160, where the LR also
# drops. The step schedule of the reference code.
_base_ = ['./ce_r32_cifar100-lt-r100.py']

model = dict(
    head=dict(
        type='CosineClsHead',
        scale=1.0,
        loss=dict(type='LDAMLoss', max_m=0.5, s=30, drw_epoch=160,
                  _delete_=True)))
