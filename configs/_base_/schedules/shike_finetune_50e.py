# SHIKE on Places-LT (paper Sec. 4.1): 30 epochs fine-tuning the experts of
# an ImageNet-pretrained backbone, cosine from lr 0.02, then 20 epochs of
# classifier retraining shaped like the CIFAR reference's stage 2 (restart
# at 0.25 x, linear to 2/3 x over 6 epochs, cosine to 0). The boundary is
# written once, as the 'retrain' stage's begin.
_base_ = ['./shike_200e.py']

max_epochs = 50
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [
    dict(type='CosineAnnealingLR', stage='representation', eta_min=0.0,
         by_epoch=True),
    dict(type='RestartLinearLR', stage='retrain', start_factor=0.25,
         end_factor=2 / 3, begin=0, end=6, by_epoch=True),
    dict(type='CosineAnnealingLR', stage='retrain', begin=5, eta_min=0.0,
         by_epoch=True),
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [
    dict(
        type='StageSwitchHook',
        stages=[
            dict(name='retrain', begin=30,
                 trainable=('head.retrain_classifiers', ),
                 head_mode='retrain'),
        ]),
]
auto_scale_lr = dict(base_batch_size=256)
