# SHIKE on Places-LT (paper Sec. 4.1): 30 epochs fine-tuning the experts of
# an ImageNet-pretrained backbone, cosine from lr 0.02, then 20 epochs of
# classifier retraining shaped like the CIFAR reference's stage 2 (restart
# at 0.25 x, linear to 2/3 x over 6 epochs, cosine to 0). Owns the stage
# boundary like shike_200e.py.
_base_ = ['./shike_200e.py']

cornerstone = 30
max_epochs = 50
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=cornerstone, eta_min=0.0, begin=0,
         end=cornerstone, by_epoch=True),
    dict(type='RestartLinearLR', start_factor=0.25, end_factor=2 / 3,
         begin=cornerstone, end=cornerstone + 6, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - cornerstone - 5,
         eta_min=0.0, begin=cornerstone + 5, end=max_epochs, by_epoch=True),
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [dict(type='DecoupledRetrainHook', cornerstone=cornerstone)]
auto_scale_lr = dict(base_batch_size=256)
