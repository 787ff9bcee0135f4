# The CIFAR-LT schedule of the balanced softmax reference code
# (github.com/jiawei-ren/BalancedMetaSoftmax-Classification,
# config/CIFAR100_LT/balanced_softmax_imba200.yaml with run_networks.py and
# utils.CosineAnnealingLRWarmup): batch 512, SGD momentum 0.9, weight decay
# 5e-4, 13,000 iterations and 800 warm-up iterations, converted to epochs
# as the reference does (ceil(iterations / batches per epoch); CIFAR-100-LT
# IF100 has 10,847 images, 22 batches of 512): 591 epochs, 37 warm-up
# epochs. The LR is set once per epoch, before it:
#   epochs 0-35: 0.05 + 0.05 * e / 36 (the warm-up from base_lr 0.05
#       towards warmup_lr 0.1);
#   epochs 36-590: 0.1 * (1 + cos(pi * (e - 36) / 554)) / 2.
# The leaf config sets the batch size (512) of the data loader.
base_lr = 0.1  # the reference's warmup_lr, the peak
max_epochs = 591
warmup_epochs = 37

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=base_lr, momentum=0.9, weight_decay=5e-4,
        nesterov=False))

param_scheduler = [
    # 0.05, 0.05139, ..., 0.09861, 0.1 over epochs 0..36, computed from the
    # base lr (RestartLinearLR), so that the cosine starts from 0.1 exactly
    dict(type='RestartLinearLR', start_factor=0.5, end_factor=1.0, begin=0,
         end=warmup_epochs, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=0.0, begin=warmup_epochs - 1, end=max_epochs,
         by_epoch=True),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=512)
