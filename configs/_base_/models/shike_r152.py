# SHIKE, ResNet-152 (Places-LT): the ResNet-50 model made deeper; stem and
# stages 1-3 shared, stage 4 per expert. Default: Places-LT, 365 classes.
_base_ = ['./shike_r50.py']

model = dict(backbone=dict(depth=152), head=dict(num_classes=365))
