# SHIKE on Places-LT: ImageNet-pretrained ResNet-152 (mmpretrain's
# checkpoint; every expert's stage 4 starts from its single stage 4), the
# shared part (stem + stages 1-3) frozen with BN statistics fixed; experts,
# DKF alignment and classifiers are fine-tuned for 30 epochs, then the
# classifiers are retrained for 20 (paper Sec. 4.2: 30 epochs of
# fine-tuning, classifier retraining 20 more). Base lr 0.02 (paper).
# Paper: 41.9 % top-1 (many 43.6, medium 39.2, few 44.8).
_base_ = [
    '../_base_/models/shike_r152.py',
    '../_base_/datasets/places-lt.py',
    '../_base_/schedules/shike_finetune_50e.py',
    '../_base_/default_runtime.py',
]

checkpoint = ('https://download.openmmlab.com/mmclassification/v0/resnet/'
              'resnet152_8xb32_in1k_20210901-4d7582fa.pth')
model = dict(backbone=dict(frozen_stages=3, init_cfg=dict(
    type='Pretrained', checkpoint=checkpoint, prefix='backbone')))
default_hooks = dict(logger=dict(interval=100))
