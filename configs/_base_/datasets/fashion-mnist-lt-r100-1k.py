# Fashion-MNIST-LT IF100 with the head class capped at 1,000 images (the
# CPU quickstart's data): 1000, 599, 359, 215, 129, 77, 46, 27, 16, 10
# training images per class, 2,478 in all, so that every shot group (many
# > 100, medium 20-100, few < 20) exists. Full 10,000-image test set.
_base_ = ['./fashion-mnist-lt-r100.py']

train_dataloader = dict(dataset=dict(max_per_class=1000))
