# The quickstart config (shike_r32_fashion-mnist-lt-r100-1k_20e.py)
# validated every epoch on a split held out from the training file instead
# of the test set: the last 300 images of each class of
# train-images-idx3-ubyte.gz (3,000 in all), none of which the training
# subset (each class's first <= 1,000) uses. The gradient norm is logged
# (a clipping threshold no step reaches: the update is unchanged). For
# choosing the Fashion-MNIST-LT learning rate without the test set, e.g.
#   python tools/train.py configs/shike/recipe/<this file> \
#       --cfg-options optim_wrapper.optimizer.lr=0.15 randomness.seed=1
_base_ = ['../shike_r32_fashion-mnist-lt-r100-1k_20e.py']

val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='HeldOutDataset',
        per_class=300,
        reserved_per_class={{_base_.train_dataloader.dataset.max_per_class}},
        dataset=dict(
            type={{_base_.dataset_type}},
            data_root={{_base_.data_root}},
            split='train',
            test_mode=True,
            pipeline=[dict(type='PackInputs')])))
train_cfg = dict(val_interval=1)
optim_wrapper = dict(clip_grad=dict(max_norm=1e9))
